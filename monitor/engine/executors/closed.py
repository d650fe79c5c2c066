"""Closed-model executors: ``constant-vus`` and ``ramping-vus``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

from monitor.engine.configerror import EngineConfigError
from monitor.engine.executors.registry import register_executor
from monitor.engine.executors.schedules import ClosedSchedule, Stage, as_stages, linear_at


@register_executor("constant-vus")
@dataclass(frozen=True)
class ConstantVUs(ClosedSchedule):
    """``vus`` virtual users loop iterations for ``duration`` seconds."""

    name: ClassVar[str] = "constant-vus"
    vus: int
    duration: float
    max_vus: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if not self.vus >= 1:
            raise EngineConfigError(f"constant-vus: vus must be >= 1, got {self.vus}")
        if not self.duration > 0:
            raise EngineConfigError(f"constant-vus: duration must be > 0, got {self.duration}")
        object.__setattr__(self, "max_vus", self.vus)

    def vus_at(self, elapsed: float) -> int:
        return self.vus if 0 <= elapsed < self.duration else 0


@register_executor("ramping-vus")
@dataclass(frozen=True)
class RampingVUs(ClosedSchedule):
    """VUs move linearly from ``start_vus`` through each stage's target."""

    name: ClassVar[str] = "ramping-vus"
    stages: tuple[Stage, ...]
    start_vus: int = 0
    duration: float = field(init=False, default=0.0)
    max_vus: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "stages", as_stages(self.stages))
        if not self.stages:
            raise EngineConfigError("ramping-vus: at least one stage is required")
        if self.start_vus < 0:
            raise EngineConfigError(f"ramping-vus: start_vus must be >= 0, got {self.start_vus}")
        total = sum(s.duration for s in self.stages)
        if not total > 0:
            raise EngineConfigError("ramping-vus: the stages must last longer than 0 s")
        peak = math.ceil(max([self.start_vus, *(s.target for s in self.stages)]))
        object.__setattr__(self, "duration", total)
        object.__setattr__(self, "max_vus", peak)

    def vus_at(self, elapsed: float) -> int:
        if not 0 <= elapsed < self.duration:
            return 0
        return round(linear_at(self.start_vus, self.stages, elapsed))
