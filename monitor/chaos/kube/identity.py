"""Where the monitor itself runs in Kubernetes, and which namespaces chaos may touch.

The pod's name and namespace come from the downward API (the chart sets ``POD_NAME`` and
``POD_NAMESPACE``), else the namespace from the mounted ServiceAccount; outside a cluster both
are unknown and only ``kube-system`` is protected.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SA_NAMESPACE_FILE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
PROTECTED_NAMESPACES = ("kube-system",)
"""Refused unless an experiment explicitly allows them (besides the monitor's own)."""


@dataclass(frozen=True, slots=True)
class Identity:
    pod: str | None
    namespace: str | None


def own_identity(
    env: Mapping[str, str] | None = None, sa_namespace_file: Path = SA_NAMESPACE_FILE
) -> Identity:
    """The monitor's pod and namespace, when it runs in one."""
    env = os.environ if env is None else env
    namespace = env.get("POD_NAMESPACE") or None
    if namespace is None:
        try:
            namespace = sa_namespace_file.read_text().strip() or None
        except OSError:
            namespace = None
    return Identity(pod=env.get("POD_NAME") or None, namespace=namespace)


def namespace_refusal(namespace: str, allowed: Sequence[str], identity: Identity) -> str | None:
    """Why chaos may not act in ``namespace``, or None.

    ``allowed`` is the experiment's explicit allowlist: when it is non-empty nothing else is
    allowed; ``kube-system`` and the monitor's own namespace need to be in it by name.
    """
    if namespace in allowed:
        return None
    if namespace in PROTECTED_NAMESPACES:
        return f"namespace {namespace} is refused unless the experiment allows it by name"
    if identity.namespace is not None and namespace == identity.namespace:
        return (
            f"namespace {namespace} is the monitor's own and is refused unless the experiment "
            "allows it by name"
        )
    if allowed:
        return f"namespace {namespace} is not in the allowed namespaces ({', '.join(allowed)})"
    return None
