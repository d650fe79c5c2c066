"""Fault action kinds: one module per family in ``monitor.chaos.actions`` registers its kinds.

A kind is a settings model (the fields an experiment step of that kind takes besides ``name``,
``kind``, ``duration``, ``after`` and ``target``) and an :class:`~monitor.chaos.action.Action`
class built from them::

    class PauseSettings(ActionSettings):
        match: str

    @action_kind("process-pause", settings=PauseSettings)
    class Pause(Action[PauseSettings]):
        \"\"\"SIGSTOP a process for the duration, SIGCONT on revert.\"\"\"
        def describe(self) -> str: ...
        async def inject(self, ctx, record) -> None: ...
        async def revert(self, ctx, record) -> None: ...

Experiment files and the daemon config validate each step's fields against its kind at load
time (``file:line: field: message``), so a new kind is one new file and nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from monitor.chaos.action import Action
from monitor.observe.access import ApiAccess
from monitor.registry import Registry

A = TypeVar("A", bound=type[Action[Any]])


class ActionSettings(BaseModel):
    """Base of every kind's settings: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


@dataclass(frozen=True, slots=True)
class ActionKind:
    """A registered fault action kind."""

    name: str
    settings: type[BaseModel]
    action: type[Action[Any]]
    description: str
    access: tuple[ApiAccess, ...] = ()
    """Every Kubernetes API call the kind may make (the chart grants them when enabled)."""
    instant: bool = False
    """The fault is done once injected (a kill, a backend termination); ``duration`` then
    means how long until revert (e.g. the restart) rather than how long it is held."""

    def create(self, options: Mapping[str, Any]) -> Action[Any]:
        """Validate ``options`` (raises ``pydantic.ValidationError``) and build the action."""
        return self.action(self.settings.model_validate(dict(options)))


STEP_FIELDS = frozenset({"name", "kind", "after", "duration"})
"""Fields of an experiment step itself; a kind's settings may not use them."""

ACTIONS: Registry[ActionKind] = Registry("chaos action kind", builtins="monitor.chaos.actions")
"""Every fault action kind by name; the built-ins load on first use."""


def action_kind(
    name: str,
    *,
    settings: type[BaseModel],
    access: tuple[ApiAccess, ...] = (),
    instant: bool = False,
    description: str | None = None,
) -> Callable[[A], A]:
    """Register an :class:`Action` subclass as kind ``name`` with its settings model."""

    def register(cls: A) -> A:
        taken = STEP_FIELDS.intersection(settings.model_fields)
        if taken:
            raise ValueError(f"chaos action kind {name!r}: {sorted(taken)} belong to the step")
        doc = description or (cls.__doc__ or name).strip().splitlines()[0]
        cls.kind = name
        cls.access = access
        ACTIONS.add(name, ActionKind(name, settings, cls, doc, access, instant))
        return cls

    return register


def build_action(kind: str, options: Mapping[str, Any]) -> Action[Any]:
    """The action of registered ``kind`` with ``options`` (unknown kind or bad options raise)."""
    return ACTIONS.get_entry(kind).create(options)


__all__ = ["ACTIONS", "ActionKind", "ActionSettings", "action_kind", "build_action"]
