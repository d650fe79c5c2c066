"""The Kubernetes API calls each chaos action kind makes, as RBAC rules: the single source of
the chart's chaos Role. The chart grants, in each of ``chaos.namespaces``, exactly the rules of
the kinds listed in ``chaos.actions`` (``soakmon.rules.chaos`` in ``_helpers.tpl``; a test
compares the two, and another proves on a real API server that the ServiceAccount can do
exactly this: 403 otherwise). An action that needs more must add it here.

Discovery (``/apis/chaos-mesh.org/v1alpha1``) needs no rule: every authenticated user may read
it (the ``system:discovery`` ClusterRole).
"""

from __future__ import annotations

from collections.abc import Mapping

from monitor.observe.access import ApiAccess

CHAOS_MESH_GROUP = "chaos-mesh.org"
CHAOS_MESH_VERSION = "v1alpha1"
#: The Chaos Mesh kinds soakmon creates, and their plural (the resource of their RBAC rule).
CHAOS_MESH_KINDS: Mapping[str, str] = {
    "PodChaos": "podchaos",
    "NetworkChaos": "networkchaos",
    "StressChaos": "stresschaos",
    "IOChaos": "iochaos",
    "HTTPChaos": "httpchaos",
}

ACCESS: Mapping[str, tuple[ApiAccess, ...]] = {
    # KubeChaosApi.list_pods (pick victims, watch replacements), delete_pod
    "pod-kill": (ApiAccess("", "pods", ("delete", "list")),),
    # KubeChaosApi.restart (patch the pod template), workload (wait for the rollout)
    "rollout-restart": (
        ApiAccess("apps", "deployments", ("get", "patch")),
        ApiAccess("apps", "statefulsets", ("get", "patch")),
    ),
    # KubeChaosApi.replicas / scale (the scale subresource), workload (wait until ready)
    "scale": (
        ApiAccess("apps", "deployments", ("get",)),
        ApiAccess("apps", "deployments/scale", ("get", "patch")),
        ApiAccess("apps", "statefulsets", ("get",)),
        ApiAccess("apps", "statefulsets/scale", ("get", "patch")),
    ),
    # KubeChaosApi.create_custom, get_custom (status), delete_custom (revert)
    "chaos-mesh": tuple(
        ApiAccess(CHAOS_MESH_GROUP, plural, ("create", "delete", "get"))
        for plural in CHAOS_MESH_KINDS.values()
    ),
}
"""Rules per action kind (every kind that calls the Kubernetes API has an entry)."""

DEFAULT_ACTIONS = ("pod-kill",)
"""The kinds the chart enables when ``chaos.actions`` is not set."""


def rules_for(kinds: tuple[str, ...] | list[str]) -> tuple[ApiAccess, ...]:
    """The rules of these kinds, in table order, without repeats."""
    out: list[ApiAccess] = []
    for kind in ACCESS:
        if kind in kinds:
            out.extend(a for a in ACCESS[kind] if a not in out)
    return tuple(out)


API_ACCESS = rules_for(DEFAULT_ACTIONS)
"""The rules of the default kinds (what the chart grants with ``chaos.actions`` unset)."""
