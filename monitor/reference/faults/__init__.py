"""The fault registry: every injectable fault, each breaking exactly one guarantee.

Faults are never active unless requested by name (``soakmon target serve --fault NAME``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import reduce
from types import MappingProxyType

from monitor.reference.behaviour import Behaviour
from monitor.reference.faults import points, process, rewards, tasks
from monitor.reference.faults.base import Fault

__all__ = ["FAULTS", "Fault", "behaviour_for", "check_fault_names"]

FAULTS: Mapping[str, Fault] = MappingProxyType(
    {f.name: f for f in (*points.FAULTS, *rewards.FAULTS, *tasks.FAULTS, *process.FAULTS)}
)


def check_fault_names(names: Iterable[str]) -> tuple[str, ...]:
    """The names, deduplicated in order; ValueError naming the valid ones for an unknown one."""
    chosen = tuple(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in FAULTS]
    if unknown:
        raise ValueError(
            f"unknown fault {', '.join(map(repr, unknown))}; valid faults: {', '.join(FAULTS)}"
        )
    return chosen


def behaviour_for(names: Iterable[str]) -> Behaviour:
    """The service behaviour with the named faults applied (none: the correct service)."""
    return reduce(lambda b, n: FAULTS[n].apply(b), check_fault_names(names), Behaviour())
