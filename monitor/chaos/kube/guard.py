"""The Kubernetes namespace guard: every ``namespace`` scope of an action is checked against
the experiment's allowed namespaces (``allow: {namespace: [...]}``); ``kube-system`` and the
monitor's own namespace are refused unless allowed by name (:mod:`monitor.chaos.kube.identity`).
Imported by the Kubernetes action modules, so it is registered whenever they are."""

from __future__ import annotations

from typing import Any

from monitor.chaos.action import Action, Record
from monitor.chaos.guards import GUARDS, Policy
from monitor.chaos.kube.identity import namespace_refusal, own_identity


@GUARDS.register("kube-namespace")
def kube_namespace(action: Action[Any], policy: Policy, record: Record | None) -> str | None:
    """Refuse namespaces outside the allowlist, ``kube-system`` and the monitor's own."""
    allowed = tuple(policy.allow.get("namespace", ()))
    identity = own_identity()
    reasons = []
    for scope in action.scopes(record):
        if scope.kind == "namespace":
            reason = namespace_refusal(scope.value, allowed, identity)
            if reason and reason not in reasons:
                reasons.append(reason)
    return "; ".join(reasons) or None
