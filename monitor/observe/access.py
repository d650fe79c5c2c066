"""What the monitor may ask of the Kubernetes API: each adapter that calls it declares its
calls here as RBAC-shaped rules, and the Helm chart grants exactly those (a test compares them).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ApiAccess:
    """One RBAC rule: verbs on a resource of an API group (``""`` is the core group)."""

    api_group: str
    resource: str
    verbs: tuple[str, ...]
