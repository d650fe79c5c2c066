"""Executors: pure schedules (open and closed model), a registry, and the one runner."""

from monitor.engine.executors import closed, open, ramping  # noqa: F401  (registration)
from monitor.engine.executors.closed import ConstantVUs, RampingVUs
from monitor.engine.executors.open import Burst, ConstantArrivalRate, RampingArrivalRate
from monitor.engine.executors.outcome import ExecutorStats, IntervalReport, Progress, RunOutcome
from monitor.engine.executors.registry import EXECUTORS, Executor, build_executor
from monitor.engine.executors.runner import Runner
from monitor.engine.executors.schedules import ClosedSchedule, OpenSchedule, Stage

__all__ = [
    "EXECUTORS",
    "Burst",
    "ClosedSchedule",
    "ConstantArrivalRate",
    "ConstantVUs",
    "Executor",
    "ExecutorStats",
    "IntervalReport",
    "OpenSchedule",
    "Progress",
    "RampingArrivalRate",
    "RampingVUs",
    "RunOutcome",
    "Runner",
    "Stage",
    "build_executor",
]
