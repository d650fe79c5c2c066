"""The interface every fault action implements.

An action is built by its kind (:mod:`monitor.chaos.registry`) from validated settings. The
engine (:mod:`monitor.chaos.engine`) drives it through one life cycle::

    record = await action.prepare(ctx)      # find what will be touched; harms nothing
    journal.add(ctx, settings, record)      # durable BEFORE anything is injected
    await action.inject(ctx, record)
    ...                                     # the fault is active for the step's duration
    await action.revert(ctx, record)        # always: end, abort, cancel, SIGTERM
    journal.remove(ctx.id)

``revert`` must be idempotent and must work from ``ctx`` and ``record`` alone, on a freshly
built action: after a crash, the next start rebuilds the action from the journaled kind and
settings and calls ``revert`` (also when ``inject`` never ran or ran half-way).
``record`` is JSON (a dict of str, numbers, lists, dicts). What an action measured (e.g. how
long the pods took to be ready again) goes into ``record["measured"]`` (name -> number); the
engine copies it into the run's report.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from monitor.observe.access import ApiAccess

S = TypeVar("S", bound=BaseModel)

Record = dict[str, Any]
"""What ``prepare`` found (pids, names, previous values): JSON, kept in the journal."""


@dataclass(frozen=True, slots=True)
class ActionContext:
    """Who runs the action: a unique id (names toxics, connections, annotations), the target
    name it is aimed at, and the experiment that runs it."""

    id: str
    target: str
    experiment: str = ""
    duration_s: float | None = None
    """The step's duration (set by the engine): for kinds whose fault must end by itself even if
    soakmon dies first (a Chaos Mesh resource's ``spec.duration``). None on a revert after a
    crash."""


@dataclass(frozen=True, slots=True)
class ActionScope:
    """Something an action touches, for the guards: ``ActionScope("namespace", "staging")``,
    ``ActionScope("pid", "4242")``, ``ActionScope("proxy", "pg")``,
    ``ActionScope("database", "app")``."""

    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"


class Action(ABC, Generic[S]):
    """One configured fault of a registered kind."""

    kind: str = ""
    """The registered kind name (set by :func:`monitor.chaos.registry.action_kind`)."""
    access: tuple[ApiAccess, ...] = ()
    """Kubernetes API calls this kind makes (RBAC rules); empty for non-Kubernetes kinds."""
    revert_timeout_s: float | None = None
    """Upper bound on one revert of this kind (None: the engine's, 60 s). A kind whose revert
    waits for a recovery (a big rollout) may set it, as a class attribute or per instance."""

    def __init__(self, settings: S) -> None:
        self.settings = settings

    @abstractmethod
    def describe(self) -> str:
        """One line saying what ``inject`` would do (dry run, logs, reports)."""

    def scopes(self, record: Record | None = None) -> Sequence[ActionScope]:
        """What the action touches, as guards see it: from the settings alone (``record`` is
        None, at load time) and again with what ``prepare`` resolved (pids, pods)."""
        return ()

    def needs(self) -> Sequence[ApiAccess]:
        """The RBAC rules these settings need (default: the kind's ``access``)."""
        return self.access

    async def setup(self) -> None:
        """Before the experiment's steady state: make sure what the fault goes into exists
        (e.g. create the Toxiproxy proxy the target is reached through); injects nothing."""

    async def prepare(self, ctx: ActionContext) -> Record:
        """Resolve what will be touched (a pid, a pod list) without harming it; raise
        :class:`~monitor.chaos.errors.ActionError` when the target of the fault is missing."""
        return {}

    @abstractmethod
    async def inject(self, ctx: ActionContext, record: Record) -> None:
        """Inject the fault. May add to ``record`` (it is journaled again after inject)."""

    @abstractmethod
    async def revert(self, ctx: ActionContext, record: Record) -> None:
        """Undo the fault; idempotent; works on a fresh instance from the journal."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind}: {self.describe()}>"


__all__ = ["Action", "ActionContext", "ActionScope", "Record"]
