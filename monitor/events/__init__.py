"""Events: the spine every layer publishes to and subscribes on.

Loops (suite runs, soaks, probes, bursts, analyses, chaos actions) only publish; the status
API, the metrics exporter, the history and every sink (alerts, chaos gating, annotations)
subscribe. See :mod:`monitor.events.bus` for the delivery contract.
"""

from monitor.events.bus import DEFAULT_QUEUE_SIZE, EventBus, Listener
from monitor.events.types import (
    EVENT_TYPES,
    BurstFinished,
    BurstStarted,
    ChaosActionEnded,
    ChaosActionStarted,
    CheckFailed,
    CheckRecovered,
    Event,
    LoopCrashed,
    LoopFailed,
    ProbeReading,
    RunFinished,
    RunStarted,
    SoakInterval,
    SuiteScheduled,
    VerdictEvaluated,
    WindowEvaluated,
)

__all__ = [
    "DEFAULT_QUEUE_SIZE",
    "EVENT_TYPES",
    "BurstFinished",
    "BurstStarted",
    "ChaosActionEnded",
    "ChaosActionStarted",
    "CheckFailed",
    "CheckRecovered",
    "Event",
    "EventBus",
    "Listener",
    "LoopCrashed",
    "LoopFailed",
    "ProbeReading",
    "RunFinished",
    "RunStarted",
    "SoakInterval",
    "SuiteScheduled",
    "VerdictEvaluated",
    "WindowEvaluated",
]
