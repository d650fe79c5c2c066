"""What every benchmarked load generator shares: the plan of a run, what it reported, and the
registry entry that starts it and reads its result."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.procs import Measured

VENV_BIN = Path(sys.executable).parent


@dataclass(frozen=True, slots=True)
class Plan:
    """One throughput run: the same target, VU count and duration for every generator."""

    target: str  # base URL, e.g. http://127.0.0.1:8080
    path: str
    vus: int
    duration_s: int
    workdir: Path  # private scratch directory for this run


@dataclass(slots=True)
class Throughput:
    """What a generator reported about its own run."""

    requests: int
    errors: int
    rps: float  # as the generator computed it
    p50_ms: float | None = None
    p99_ms: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Generator:
    """A load generator: how to start it for a plan, and how to read its result."""

    name: str
    label: str
    command: Callable[[Plan], list[str]]
    parse: Callable[[Plan, Measured], Throughput]
    needs: Callable[[], str | None] = lambda: None  # why it cannot run here, or None
    worker_cores: tuple[int, ...] = ()
    """Run on these cores, each child process it starts pinned to the next of them (workers
    on separate cores); empty: the whole process tree on the generator core."""


def first_number(*docs: dict[str, Any], keys: tuple[str, ...]) -> float | None:
    for doc in docs:
        for key in keys:
            value = doc.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
    return None


def float_or_none(value: Any) -> float | None:
    try:
        return None if value in (None, "", "N/A") else float(value)
    except (TypeError, ValueError):
        return None


def tail(text: str, lines: int = 6) -> str:
    return " | ".join(text.strip().splitlines()[-lines:]) or "(no output)"
