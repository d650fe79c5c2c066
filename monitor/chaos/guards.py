"""Guards: hooks asked before an action is injected; any one may refuse it.

A guard is ``guard(action, policy, record) -> reason | None`` registered in :data:`GUARDS`. It
looks at the action's :meth:`~monitor.chaos.action.Action.scopes` (``namespace staging``,
``pid 42``; from the settings at load time, and again with the record ``prepare`` returned)
and the experiment's :class:`Policy` (its ``allow`` lists). Built in here: the monitor never
signals its own process or an ancestor. The Kubernetes namespace allowlist (``kube-system``
and the monitor's own namespace refused unless allowed) registers beside the Kubernetes kinds.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psutil

from monitor.chaos.action import Action, Record
from monitor.chaos.errors import Refused
from monitor.registry import Registry


@dataclass(frozen=True, slots=True)
class Policy:
    """What an experiment explicitly allows, by scope kind: ``{"namespace": ("staging",)}``."""

    allow: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def allows(self, kind: str, value: str) -> bool:
        return value in self.allow.get(kind, ())


Guard = Callable[[Action[Any], Policy, Record | None], str | None]

GUARDS: Registry[Guard] = Registry("chaos guard")
"""Every guard by name; all are asked for every action."""


def check(action: Action[Any], policy: Policy, record: Record | None = None) -> None:
    """Raise :class:`Refused` with every guard's reason when any guard refuses ``action``
    (asked at load time with ``record=None``, and again after ``prepare`` with its record)."""
    reasons = [r for g in GUARDS.values() if (r := g(action, policy, record))]
    if reasons:
        raise Refused(f"{action.kind}: " + "; ".join(reasons))


def _protected_pids() -> set[int]:
    me = psutil.Process(os.getpid())
    return {me.pid, *(p.pid for p in me.parents())}


@GUARDS.register("own-process")
def own_process(action: Action[Any], policy: Policy, record: Record | None) -> str | None:
    """Never signal soakmon itself or one of its ancestors (its shell, its init)."""
    protected = _protected_pids()
    for scope in action.scopes(record):
        if scope.kind == "pid" and scope.value.isdigit() and int(scope.value) in protected:
            return f"pid {scope.value} is soakmon itself or one of its parents"
    return None


__all__ = ["GUARDS", "Guard", "Policy", "check"]
