"""A run's books: the counts, the current interval bucket and the running total of a
:class:`~monitor.engine.executors.runner.Runner`, closed into intervals on a grid.

The fast loop keeps them too (:class:`monitor.engine.fastloop.LoopHost`): plain attributes,
because they change on every request.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from monitor.engine.executors.outcome import ExecutorStats, IntervalReport, Progress
from monitor.engine.result import ConcurrentResult, SuccessRule

logger = logging.getLogger(__name__)

EPSILON = 1e-9
"""Seconds of float error tolerated when a time falls on an interval edge."""


def notify(callback: Callable[[Any], None], arg: object) -> None:
    """Call a progress/interval listener: one that fails is logged, never breaks the run."""
    try:
        callback(arg)
    except Exception:
        logger.exception("runner callback %r failed (ignored)", callback)


class RunBooks:
    """What a run counted: iterations, requests in the current interval and in total.

    - ``is_success`` / ``sample_limit``: of every bucket (see ``ConcurrentResult``).
    - ``interval`` / ``on_interval``: a bucket is closed every ``interval`` seconds and
      streamed to ``on_interval``.
    - ``interval_origin``: a clock reading interval edges are counted from instead of the
      run's start (see :class:`~monitor.engine.executors.runner.Runner`).
    """

    def __init__(
        self,
        *,
        is_success: SuccessRule | None,
        sample_limit: int,
        interval: float,
        on_interval: Callable[[IntervalReport], None] | None,
        interval_origin: float | None,
    ) -> None:
        self._is_success = is_success
        self._sample_limit = sample_limit
        self.interval = interval
        self._on_interval = on_interval
        self.origin = interval_origin
        self._shift = 0.0  # the run's start since the interval origin
        self._total = self._new_result()
        self._current = self._new_result()
        self._interval_start = 0.0
        self._stopping = False
        self._iterations = self._completed = self._dropped = self._interrupted = 0
        self._busy = self._busy_max = 0

    def _new_result(self) -> ConcurrentResult:
        return ConcurrentResult(is_success=self._is_success, sample_limit=self._sample_limit)

    def start(self, t0: float) -> None:
        """The run started at clock reading ``t0``."""
        if self.origin is not None:
            self._shift = t0 - self.origin

    def edge(self, elapsed: float) -> float:
        """The last interval edge at or before ``elapsed`` (seconds since the start)."""
        since_origin = elapsed + self._shift
        return math.floor((since_origin + EPSILON) / self.interval) * self.interval - self._shift

    def flush(self, now: float) -> None:
        """Close the current interval bucket into the total and stream it."""
        bucket, self._current = self._current, self._new_result()
        start, self._interval_start = self._interval_start, now
        if self._on_interval is not None and (bucket.total or now > start):
            shift = self._shift
            notify(self._on_interval, IntervalReport(start + shift, now + shift, bucket))
        self._total.absorb(bucket)

    def progress(self, elapsed: float, duration: float) -> Progress:
        """The progress snapshot ``elapsed`` seconds into a run of ``duration``."""
        return Progress(
            elapsed=elapsed,
            duration=duration,
            requests=self._total.total + self._current.total,
            errors=self._total.error_count + self._current.error_count,
            iterations=self._iterations,
            dropped=self._dropped,
            active_vus=self._busy,
        )

    def stats(self, executor: str, duration: float, active: float) -> ExecutorStats:
        """How the executor ran: ``duration`` seconds in all, ``active`` of them starting
        iterations (the achieved rate's window, unless under a millisecond)."""
        window = active if active >= 1e-3 else duration
        return ExecutorStats(
            executor=executor,
            iterations=self._iterations,
            completed=self._completed,
            dropped=self._dropped,
            interrupted=self._interrupted,
            duration_s=duration,
            active_s=active,
            achieved_rate=self._iterations / window if window > 0 else 0.0,
            vus_max=self._busy_max,
        )
