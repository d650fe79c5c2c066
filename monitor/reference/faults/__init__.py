"""The fault registry: every injectable fault, each breaking exactly one guarantee.

Faults are never active unless requested by name (``soakmon target serve --fault NAME``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from functools import reduce
from types import MappingProxyType

from monitor.reference.behaviour import DEFAULT_RACE_WINDOW, Behaviour
from monitor.reference.faults import points, process, rewards, tasks
from monitor.reference.faults.base import Fault

__all__ = [
    "DEFAULT_RACE_WINDOW",
    "FAULTS",
    "RACE_FAULTS",
    "Fault",
    "behaviour_for",
    "check_fault_names",
    "check_race_window",
]

FAULTS: Mapping[str, Fault] = MappingProxyType(
    {f.name: f for f in (*points.FAULTS, *rewards.FAULTS, *tasks.FAULTS, *process.FAULTS)}
)

RACE_FAULTS: tuple[str, ...] = tuple(name for name, f in FAULTS.items() if f.race)
"""The faults whose broken window ``race_window`` widens (the others do not depend on it)."""


def check_race_window(seconds: float) -> float:
    """The window in seconds; ValueError for a negative or non-finite one."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"race window must be a finite number of seconds >= 0, got {seconds}")
    return float(seconds)


def check_fault_names(names: Iterable[str]) -> tuple[str, ...]:
    """The names, deduplicated in order; ValueError naming the valid ones for an unknown one."""
    chosen = tuple(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in FAULTS]
    if unknown:
        raise ValueError(
            f"unknown fault {', '.join(map(repr, unknown))}; valid faults: {', '.join(FAULTS)}"
        )
    return chosen


def behaviour_for(names: Iterable[str], *, race_window: float = DEFAULT_RACE_WINDOW) -> Behaviour:
    """The service behaviour with the named faults applied (none: the correct service); race
    faults pause ``race_window`` seconds inside their window (0: the natural window)."""
    start = Behaviour(race_window=check_race_window(race_window))
    return reduce(lambda b, n: FAULTS[n].apply(b), check_fault_names(names), start)
