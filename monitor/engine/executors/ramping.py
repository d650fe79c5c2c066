"""``ramping``: stages of VUs (closed model) or of arrival rate (open model)."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.engine.configerror import EngineConfigError
from monitor.engine.executors.closed import RampingVUs
from monitor.engine.executors.open import RampingArrivalRate
from monitor.engine.executors.registry import Executor, register_executor
from monitor.engine.executors.schedules import Stage, as_stages


@register_executor("ramping")
def ramping(
    stages: Sequence[Stage | tuple[float, float]],
    unit: str = "vus",
    start: float = 0,
    pre_allocated_vus: int = 0,
    max_vus: int = 0,
) -> Executor:
    """Stages of VUs (``unit="vus"``) or of iterations per second (``unit="rate"``)."""
    staged = as_stages(stages)
    if unit == "vus":
        return RampingVUs(staged, start_vus=int(start))
    if unit == "rate":
        return RampingArrivalRate(staged, float(start), pre_allocated_vus, max_vus)
    raise EngineConfigError(f"ramping: unit must be 'vus' or 'rate', got {unit!r}")
