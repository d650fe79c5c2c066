"""Pure schedules: functions of elapsed time, no I/O and no sleeping (Locust ``tick()`` style).

- A :class:`ClosedSchedule` (closed model) says how many virtual users should be looping.
- An :class:`OpenSchedule` (open model) says when each iteration is due to start.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from monitor.engine.configerror import EngineConfigError


@dataclass(frozen=True, slots=True)
class Stage:
    """Move linearly to ``target`` (VUs or iterations/s) over ``duration`` seconds."""

    duration: float
    target: float

    def __post_init__(self) -> None:
        if not self.duration >= 0 or not self.target >= 0:
            raise EngineConfigError(f"stage needs duration >= 0 and target >= 0, got {self}")


class ClosedSchedule(ABC):
    """Closed model: a number of VUs, each looping iterations back to back."""

    name: ClassVar[str] = ""
    duration: float
    """Seconds until the schedule ends."""
    max_vus: int
    """The most VUs ever asked for."""

    @abstractmethod
    def vus_at(self, elapsed: float) -> int:
        """VUs that should be running ``elapsed`` seconds after the start."""


class OpenSchedule(ABC):
    """Open model: iterations start at given times whatever the target does."""

    name: ClassVar[str] = ""
    duration: float
    """Seconds until the schedule ends."""
    pre_allocated_vus: int
    """VUs ready at the start."""
    max_vus: int
    """At most this many iterations in flight; further due ones are dropped."""

    @abstractmethod
    def start_offset(self, index: int) -> float | None:
        """Seconds after the start at which iteration ``index`` (0-based) is due, or ``None``
        when the schedule has fewer iterations."""

    def due_by(self, elapsed: float) -> int:
        """Iterations due to have started by ``elapsed`` (for progress and tests)."""
        lo, hi = 0, 1
        while (off := self.start_offset(hi - 1)) is not None and off <= elapsed:
            lo, hi = hi, hi * 2
        while lo < hi:  # first index whose offset is None or > elapsed
            mid = (lo + hi) // 2
            off = self.start_offset(mid)
            if off is not None and off <= elapsed:
                lo = mid + 1
            else:
                hi = mid
        return lo


def as_stages(stages: Sequence[Stage | tuple[float, float]]) -> tuple[Stage, ...]:
    """Stages from ``Stage`` objects or ``(duration, target)`` pairs."""
    return tuple(s if isinstance(s, Stage) else Stage(*s) for s in stages)


def linear_at(start: float, stages: tuple[Stage, ...], elapsed: float) -> float:
    """The piecewise-linear value of ``stages`` (starting from ``start``) at ``elapsed``."""
    value, t = start, 0.0
    for stage in stages:
        if elapsed < t + stage.duration:
            frac = (elapsed - t) / stage.duration
            return value + (stage.target - value) * frac
        value, t = stage.target, t + stage.duration
    return value


def inverse_cumulative(start: float, stages: tuple[Stage, ...], index: int) -> float | None:
    """When the integral of a piecewise-linear rate reaches ``index`` (the start offset of
    iteration ``index``); ``None`` past the end."""
    done, rate, t = 0.0, start, 0.0
    eps = 1e-9
    for stage in stages:
        d, r1 = stage.duration, stage.target
        area = (rate + r1) * d / 2.0
        if index < done + area - eps:
            need = index - done
            if need <= 0:
                return t
            a = (r1 - rate) / (2.0 * d)
            # Solve a x^2 + rate x = need, numerically stable for a -> 0 and a < 0.
            x = 2.0 * need / (rate + math.sqrt(max(0.0, rate * rate + 4.0 * a * need)))
            return t + min(max(x, 0.0), d)
        done, rate, t = done + area, r1, t + d
    return None
