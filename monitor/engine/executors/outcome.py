"""What a runner reports: progress snapshots, per-interval results and final stats."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from monitor.engine.result import ConcurrentResult


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot for a progress bar."""

    elapsed: float
    duration: float
    requests: int
    errors: int
    iterations: int
    dropped: int
    active_vus: int


@dataclass(frozen=True, slots=True)
class IntervalReport:
    """The requests that finished in ``[start_s, end_s)`` (seconds since the run started, or
    since the runner's ``interval_origin``)."""

    start_s: float
    end_s: float
    result: ConcurrentResult


@dataclass(frozen=True, slots=True)
class ExecutorStats:
    """How the executor ran."""

    executor: str
    iterations: int
    """Iterations started."""
    completed: int
    """Iterations that ran to the end."""
    dropped: int
    """Open model: due iterations not started because every VU was busy."""
    interrupted: int
    """Iterations still running at the end of the graceful stop, then cancelled."""
    duration_s: float
    """Wall time of the whole run, draining included."""
    active_s: float
    """Wall time of the schedule (start to the last due iteration or the configured end)."""
    achieved_rate: float
    """Iterations started per second of ``active_s``."""
    vus_max: int
    """Most VUs busy at once."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, floats rounded."""
        data = asdict(self)
        for key in ("duration_s", "active_s", "achieved_rate"):
            data[key] = round(data[key], 3)
        return data


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """The aggregate result (bounded samples in ``records``) and the executor stats."""

    result: ConcurrentResult
    stats: ExecutorStats

    def to_dict(self) -> dict[str, Any]:
        """``{"requests": ..., "executor": ...}``."""
        return {"requests": self.result.to_dict(), "executor": self.stats.to_dict()}
