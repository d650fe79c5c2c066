"""Typed events every layer publishes and subscribes to.

Each event is a frozen dataclass; ``at`` is wall-clock time (``time.time()``) unless a field
says otherwise. Fields are public API: the alerts sinks, chaos gating, the status API and the
metrics exporter read them. Add fields with defaults; never rename or remove one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from monitor.analysis.verdict import Verdict
from monitor.engine import LatencyHistogram
from monitor.suites.results import CheckResult, RunResult

# -- suite runs ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunStarted:
    """A scheduled suite run begins."""

    suite: str
    target: str
    at: float


@dataclass(frozen=True, slots=True)
class RunFinished:
    """A suite run ended; ``result`` is None when it crashed or timed out (see ``error``)."""

    suite: str
    target: str
    started_at: float
    finished_at: float
    result: RunResult | None
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.result is not None and self.result.passed and self.error is None


@dataclass(frozen=True, slots=True)
class CheckFailed:
    """A check failed in a run (fires each time it fails)."""

    suite: str
    scenario: str
    target: str
    check: CheckResult
    at: float


@dataclass(frozen=True, slots=True)
class CheckRecovered:
    """A check that was failing passed again."""

    suite: str
    scenario: str
    target: str
    check: str
    at: float


@dataclass(frozen=True, slots=True)
class SuiteScheduled:
    """A scheduled suite's next run is due at ``next_run_at`` (wall clock); ``missed`` slots
    passed while the previous run was still going (they are skipped, never overlapped)."""

    suite: str
    target: str
    next_run_at: float
    missed: int
    at: float


# -- analyses -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WindowEvaluated:
    """The rolling request window of a target at an analysis tick (soak and burst traffic):
    ``requests`` in the window, the share that failed and the p95 latency."""

    target: str
    requests: int
    error_ratio: float
    p95_ms: float
    at: float


@dataclass(frozen=True, slots=True)
class VerdictEvaluated:
    """A soak analysis or SLO verdict (memory growth, pool, throughput, burst, SLO) was
    evaluated; ``previous`` is the last conclusive outcome (None before the first)."""

    target: str
    verdict: Verdict
    previous: bool | None
    at: float

    @property
    def flipped(self) -> bool:
        """A conclusive verdict whose outcome differs from the previous conclusive one."""
        return self.verdict.conclusive and self.previous != self.verdict.passed


# -- soak, probes, bursts -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SoakInterval:
    """One finished interval of a soak (``window`` seconds of continuous load).

    ``histogram`` holds the latencies (ms) of the interval's ``requests``; ``monotonic`` is the
    monotonic clock at the end of the interval, for rolling windows. ``reauthentications`` is
    the running total of an operations soak's sign-ins after an expired token (None for a soak
    of plain requests).
    """

    soak: str
    target: str
    seconds: float
    requests: int
    errors: int
    histogram: LatencyHistogram
    at: float
    monotonic: float
    reauthentications: int | None = None
    transport: str | None = None
    """How a soak of plain requests is sent: ``fast path`` or ``aiohttp (why)``."""
    workers: int | None = None
    """Worker processes whose windows were merged into this one (None: the daemon's own)."""

    @property
    def rate(self) -> float:
        """Requests per second over the interval (0 for an empty span)."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def p95_ms(self) -> float | None:
        return self.histogram.percentile(95.0) if self.requests else None


@dataclass(frozen=True, slots=True)
class ProbeReading:
    """One read of a probe: its values, or ``error`` when the read failed (``values`` empty)."""

    probe: str
    kind: str
    target: str | None
    values: Mapping[str, float]
    at: float
    monotonic: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class BurstStarted:
    """A scheduled burst of ``size`` simultaneous requests is about to be fired."""

    burst: str
    target: str
    size: int
    at: float


@dataclass(frozen=True, slots=True)
class BurstFinished:
    """A burst and its recovery watch ended (its two verdicts are also published as
    :class:`VerdictEvaluated`)."""

    burst: str
    target: str
    size: int
    ok: int
    p99_ms: float
    baseline_p99_ms: float | None
    recovered: bool
    at: float


# -- chaos (published by monitor.chaos) -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChaosActionStarted:
    """A chaos action (fault injection) began against ``target``.

    ``action`` names this occurrence (unique per daemon run), ``kind`` the fault kind
    (``pod-kill``, ``latency``, ...); ``params`` are the action's settings, for annotations.
    """

    action: str
    kind: str
    target: str
    at: float
    params: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChaosActionEnded:
    """A chaos action ended (reverted); ``error`` says why it ended abnormally.

    ``result``: ``ok`` (held for its duration, reverted), ``aborted`` (cut short by an abort or
    a cancellation, reverted), ``failed`` (inject failed, reverted), ``revert-failed`` (left in
    the journal for ``soakmon chaos revert``).
    """

    action: str
    kind: str
    target: str
    started_at: float
    at: float
    error: str | None = None
    result: str = "ok"


# -- the daemon's own loops ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoopCrashed:
    """A daemon loop raised a transient error; it is restarted after ``retry_in_s``."""

    loop: str
    error: str
    restarts: int
    retry_in_s: float
    at: float


@dataclass(frozen=True, slots=True)
class LoopFailed:
    """A daemon loop stopped for good (a configuration error); it is not restarted."""

    loop: str
    error: str
    at: float


Event = (
    RunStarted
    | RunFinished
    | CheckFailed
    | CheckRecovered
    | VerdictEvaluated
    | SuiteScheduled
    | WindowEvaluated
    | SoakInterval
    | ProbeReading
    | BurstStarted
    | BurstFinished
    | ChaosActionStarted
    | ChaosActionEnded
    | LoopCrashed
    | LoopFailed
)
"""Every event type; :class:`~monitor.events.bus.EventBus` accepts any of them."""

EVENT_TYPES: tuple[type[Event], ...] = (
    RunStarted,
    RunFinished,
    CheckFailed,
    CheckRecovered,
    VerdictEvaluated,
    SuiteScheduled,
    WindowEvaluated,
    SoakInterval,
    ProbeReading,
    BurstStarted,
    BurstFinished,
    ChaosActionStarted,
    ChaosActionEnded,
    LoopCrashed,
    LoopFailed,
)
