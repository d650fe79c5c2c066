"""Chaos Mesh resources as soakmon creates them: pure logic, no API calls.

The user writes the kind's ``spec`` as Chaos Mesh documents it (``action``, ``mode``,
``selector``, ``delay``, ...); soakmon adds ``duration`` (the step's, so Chaos Mesh ends the
fault by itself if soakmon dies before reverting), a name unique to the action and labels
saying who made it. The API server validates the rest against the installed CRD.

:func:`selected_namespaces` finds every namespace a spec reaches (``selector.namespaces``,
``selector.pods`` keys, and the same under ``target`` for NetworkChaos), so the namespace
guard sees them all, not only the namespace the resource lives in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from monitor.chaos.access import CHAOS_MESH_GROUP, CHAOS_MESH_KINDS, CHAOS_MESH_VERSION

MANAGED_BY = {"app.kubernetes.io/managed-by": "soakmon"}
ACTION_LABEL = "soakmon.io/chaos-action"
_NAME_CHARS = re.compile(r"[^a-z0-9-]+")


def resource_name(action_id: str) -> str:
    """A DNS-1123 name from the action id (lower case, at most 63 characters)."""
    name = _NAME_CHARS.sub("-", f"soakmon-{action_id}".lower()).strip("-")
    return name[:63].rstrip("-")


def label_value(action_id: str) -> str:
    value = re.sub(r"[^A-Za-z0-9._-]+", "-", action_id)[:63]
    return value.strip("-._") or "action"


def go_duration(seconds: float) -> str:
    """Chaos Mesh's duration format (a Go duration): ``90s``, ``1500ms``."""
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{round(seconds * 1000)}ms"


def manifest(
    kind: str,
    namespace: str,
    action_id: str,
    spec: Mapping[str, Any],
    duration_s: float | None,
) -> dict[str, Any]:
    """The object to create for one action."""
    if kind not in CHAOS_MESH_KINDS:
        raise ValueError(f"unknown Chaos Mesh kind {kind!r} (valid: {', '.join(CHAOS_MESH_KINDS)})")
    body_spec = dict(spec)
    if duration_s is not None:
        body_spec["duration"] = go_duration(duration_s)
    return {
        "apiVersion": f"{CHAOS_MESH_GROUP}/{CHAOS_MESH_VERSION}",
        "kind": kind,
        "metadata": {
            "name": resource_name(action_id),
            "namespace": namespace,
            "labels": {**MANAGED_BY, ACTION_LABEL: label_value(action_id)},
        },
        "spec": body_spec,
    }


def selected_namespaces(spec: Mapping[str, Any], namespace: str) -> list[str]:
    """Every namespace the spec's selectors reach (the resource's own when a selector names
    none, as Chaos Mesh defaults)."""
    found: list[str] = []
    for key in ("selector", "target"):
        part = spec.get(key)
        if not isinstance(part, Mapping):
            continue
        selector = part.get("selector", part) if key == "target" else part
        if not isinstance(selector, Mapping):
            continue
        names = [str(n) for n in selector.get("namespaces") or ()]
        pods = selector.get("pods")
        if isinstance(pods, Mapping):
            names += [str(n) for n in pods]
        found += names or [namespace]
    if not found:
        found.append(namespace)
    return sorted(set(found))
