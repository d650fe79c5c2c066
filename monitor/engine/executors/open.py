"""Open-model executors: ``burst``, ``constant-arrival-rate``, ``ramping-arrival-rate``.

Iterations that find all ``max_vus`` busy when due are dropped and counted, as in k6.
``pre_allocated_vus``/``max_vus`` of 0 mean automatic: ``max(10, ceil(peak rate))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

from monitor.engine.configerror import EngineConfigError
from monitor.engine.executors.registry import register_executor
from monitor.engine.executors.schedules import OpenSchedule, Stage, as_stages, inverse_cumulative


def _set_vus(schedule: OpenSchedule, peak_rate: float) -> None:
    default = max(10, math.ceil(peak_rate))
    most = schedule.max_vus or default
    pre = schedule.pre_allocated_vus or min(most, default)
    if pre < 0 or most < 1 or pre > most:
        raise EngineConfigError(
            f"{schedule.name}: need 0 <= pre_allocated_vus <= max_vus and max_vus >= 1 "
            f"(got {pre} and {most})"
        )
    object.__setattr__(schedule, "max_vus", most)
    object.__setattr__(schedule, "pre_allocated_vus", pre)


@register_executor("burst")
@dataclass(frozen=True)
class Burst(OpenSchedule):
    """``n`` iterations all due at once, one VU each."""

    name: ClassVar[str] = "burst"
    n: int
    duration: float = field(init=False, default=0.0)
    pre_allocated_vus: int = field(init=False, default=0)
    max_vus: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if not self.n >= 1:
            raise EngineConfigError(f"burst: n must be >= 1, got {self.n}")
        object.__setattr__(self, "pre_allocated_vus", self.n)
        object.__setattr__(self, "max_vus", self.n)

    def start_offset(self, index: int) -> float | None:
        return 0.0 if 0 <= index < self.n else None


@register_executor("constant-arrival-rate")
@dataclass(frozen=True)
class ConstantArrivalRate(OpenSchedule):
    """``rate`` iterations per second for ``duration`` seconds, whatever the response times."""

    name: ClassVar[str] = "constant-arrival-rate"
    rate: float
    duration: float
    pre_allocated_vus: int = 0
    max_vus: int = 0
    iterations: int = field(init=False, default=0)
    """Iterations the schedule asks for: ``floor(rate * duration)``."""

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise EngineConfigError(f"{self.name}: rate must be > 0, got {self.rate}")
        if not self.duration > 0:
            raise EngineConfigError(f"{self.name}: duration must be > 0, got {self.duration}")
        _set_vus(self, self.rate)
        object.__setattr__(self, "iterations", math.floor(self.rate * self.duration + 1e-9))

    def start_offset(self, index: int) -> float | None:
        return index / self.rate if 0 <= index < self.iterations else None

    def due_by(self, elapsed: float) -> int:
        if elapsed < 0:
            return 0
        return min(self.iterations, math.floor(elapsed * self.rate + 1e-9) + 1)


@register_executor("ramping-arrival-rate")
@dataclass(frozen=True)
class RampingArrivalRate(OpenSchedule):
    """The arrival rate moves linearly from ``start_rate`` through each stage's target."""

    name: ClassVar[str] = "ramping-arrival-rate"
    stages: tuple[Stage, ...]
    start_rate: float = 0.0
    pre_allocated_vus: int = 0
    max_vus: int = 0
    duration: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "stages", as_stages(self.stages))
        if not self.stages:
            raise EngineConfigError(f"{self.name}: at least one stage is required")
        if self.start_rate < 0:
            raise EngineConfigError(f"{self.name}: start_rate must be >= 0")
        object.__setattr__(self, "duration", sum(s.duration for s in self.stages))
        _set_vus(self, max([self.start_rate, *(s.target for s in self.stages)]))

    def start_offset(self, index: int) -> float | None:
        if index < 0:
            return None
        return inverse_cumulative(self.start_rate, self.stages, index)
