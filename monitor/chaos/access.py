"""The Kubernetes API calls chaos actions may make, as RBAC rules: find the pods of a selector
and delete one. The chart grants exactly these in ``chaos.namespaces`` when chaos is enabled;
an action that needs more must add it here (and the chart test then asks for the Role)."""

from __future__ import annotations

from monitor.observe.access import ApiAccess

API_ACCESS = (ApiAccess("", "pods", ("delete", "list")),)
