"""Registry of executors by name; adding an executor is adding one module that registers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from monitor.engine.configerror import EngineConfigError
from monitor.engine.executors.schedules import ClosedSchedule, OpenSchedule
from monitor.registry import Registry

Executor = ClosedSchedule | OpenSchedule
Factory = Callable[..., Executor]
F = TypeVar("F", bound=Factory)

EXECUTORS: Registry[Factory] = Registry("executor")
"""Executor name -> factory taking keyword parameters."""


def register_executor(name: str) -> Callable[[F], F]:
    """Class/function decorator: make ``name`` buildable with :func:`build_executor`."""
    return EXECUTORS.register(name)


def build_executor(name: str, params: Mapping[str, Any] | None = None) -> Executor:
    """The executor ``name`` built from ``params``; :class:`EngineConfigError` if invalid."""
    factory = EXECUTORS.get(name)
    if factory is None:
        raise EngineConfigError(
            f"unknown executor {name!r} (choose one of: {', '.join(sorted(EXECUTORS))})"
        )
    try:
        return factory(**dict(params or {}))
    except TypeError as exc:
        raise EngineConfigError(f"executor {name!r}: {exc}") from None
