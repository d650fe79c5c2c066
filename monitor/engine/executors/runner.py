"""``Runner``: applies a pure schedule (open or closed model) to the target.

One runner for every executor. The closed model keeps ``vus_at(elapsed)`` VUs looping; the open
model starts each iteration at its due time on a free VU (or drops it), and measures latency
from the *intended* start, so a stalled target shows up (no coordinated omission).
Results are aggregated into interval buckets (streamed to ``on_interval``) and a running total
with a bounded sample of records, so memory stays flat on long runs (the run's books,
:mod:`monitor.engine.executors.books`). Cancelling ``run()`` cancels every request cleanly
(the run's tasks, :mod:`monitor.engine.executors.tasks`); :meth:`Runner.stop` ends the run
early but gracefully.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable, Sequence
from time import monotonic

from monitor.engine.backoff import VuBackoff, connection_failed
from monitor.engine.client import HttpClient, PreparedRequest
from monitor.engine.clock import SYSTEM_CLOCK, Clock
from monitor.engine.executors.books import EPSILON, RunBooks, notify
from monitor.engine.executors.outcome import IntervalReport, Progress, RunOutcome
from monitor.engine.executors.registry import Executor
from monitor.engine.executors.schedules import ClosedSchedule, OpenSchedule
from monitor.engine.executors.tasks import RunTasks
from monitor.engine.fastloop import FastLoop
from monitor.engine.fastusers import FastUsers, fast_path_refusal
from monitor.engine.finetimer import FineTimer, fine_timer
from monitor.engine.result import SuccessRule
from monitor.engine.sessions import ConnectionMode
from monitor.engine.spec import RequestSpec

_CLOSED_TICK = 0.05
"""Seconds between VU-count adjustments in the closed model."""


class Runner:
    """Runs ``executor`` with ``specs`` (sent in order by every iteration) through ``client``.

    - ``is_success``: the success rule of the results (default: status < 400, no error).
    - ``sample_limit``: records kept as a random sample (0: none); counts are always exact.
    - ``interval`` / ``on_interval``: stream a result per interval (seconds) while running.
    - ``interval_origin``: a ``clock.now()`` reading that interval edges are counted from,
      instead of the run's start. For the system clock that is ``time.monotonic()``, which
      every process on a host shares: runners in worker processes given the same origin close
      their intervals on the same grid (the first one shorter), report them in seconds since
      the origin and with the grid's edges, so the k-th intervals of all of them cover the
      same instants and merge exactly.
    - ``progress_every`` / ``on_progress``: progress snapshots for a progress bar.
    - ``graceful_stop``: seconds iterations still running at the end may take before they are
      cancelled and counted as ``interrupted`` (default: the client timeout + 1 s).
    - ``clock``: when iterations start, intervals close and the run ends (default: the system
      clock; tests pass a :class:`~monitor.engine.clock.FakeClock`). Request latencies are
      always real; an open-model iteration that starts late by the clock is measured from
      its intended start all the same.

    A SHARED or PER_USER client with ``fast_path=True`` sends plain-HTTP requests through
    :mod:`monitor.engine.fastpath` (one keep-alive connection per VU; see
    :func:`~monitor.engine.fastusers.fast_path_refusal`); otherwise aiohttp. SHARED clients'
    fast-path iterations are driven by callbacks (:mod:`monitor.engine.fastloop`), the others
    by one task per VU or open-model iteration.
    """

    def __init__(
        self,
        client: HttpClient,
        executor: Executor,
        specs: RequestSpec | Sequence[RequestSpec],
        *,
        is_success: SuccessRule | None = None,
        sample_limit: int = 1000,
        interval: float = 1.0,
        on_interval: Callable[[IntervalReport], None] | None = None,
        interval_origin: float | None = None,
        progress_every: float = 0.25,
        on_progress: Callable[[Progress], None] | None = None,
        graceful_stop: float | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.client = client
        self._clock = clock
        self.executor = executor
        spec_list = [specs] if isinstance(specs, RequestSpec) else list(specs)
        if not spec_list:
            raise ValueError("a runner needs at least one request spec")
        self._requests: list[PreparedRequest] = [client.prepare(s) for s in spec_list]
        self._count_only = sample_limit == 0 and is_success is None
        self._books = RunBooks(
            is_success=is_success,
            sample_limit=sample_limit,
            interval=interval,
            on_interval=on_interval,
            interval_origin=interval_origin,
        )
        self._progress_every = progress_every
        self._on_progress = on_progress
        self._graceful = client.timeout + 1.0 if graceful_stop is None else graceful_stop
        self._wake = asyncio.Event()
        self._t0 = 0.0
        self._tasks = RunTasks(self.stop)
        self.fast_path_refusal = fast_path_refusal(client, self._requests)
        """Why the requests go through aiohttp (None: through the fast path)."""
        self._fast = FastUsers(client) if self.fast_path_refusal is None else None
        self._loop: FastLoop | None = None
        """The callback-driven fast path of a SHARED client (set up by :meth:`run`)."""
        self._fine: FineTimer | None = None
        """Open model on the system clock: iterations start at their instant to the
        microsecond (:mod:`monitor.engine.finetimer`), not to the loop's millisecond."""

    def stop(self) -> None:
        """End the run early: no new iterations, running ones get the graceful stop."""
        self._books._stopping = True
        self._wake.set()

    async def _sleep(self, delay: float) -> None:
        if delay <= 0:
            return
        if delay < 0.02:
            await self._clock.sleep(delay)
            return
        await self._clock.wait(self._wake, delay)

    # -- one iteration -------------------------------------------------------------------------

    async def _iteration(self, vu: int, intended_start: float | None) -> bool:
        """One iteration; whether a request of it failed at the connection level."""
        client, pool, books = self.client, self.client.sessions, self._books
        books._busy += 1
        books._busy_max = max(books._busy_max, books._busy)
        failed = False
        try:
            for req in self._requests:
                if self._fast is not None:
                    record = await self._fast.execute(req, vu, intended_start)
                else:
                    session = await pool.acquire(vu)
                    try:
                        record = await client.execute(req, session, intended_start)
                    finally:
                        await pool.release(session)
                books._current.add(record)  # the bucket current *now* (intervals rotate)
                failed = failed or connection_failed(record.error_kind, record.sent)
                intended_start = None
            books._completed += 1
            return failed
        finally:
            books._busy -= 1

    # -- closed model --------------------------------------------------------------------------

    async def _vu_loop(self, vu: int, retired: set[int]) -> None:
        backoff = VuBackoff()  # after connection-level failures (monitor.engine.backoff)
        books = self._books
        try:
            while not books._stopping and vu not in retired:
                books._iterations += 1
                failed = await self._iteration(vu, None)
                await self._back_off(backoff.after(failed), vu, retired)
        finally:
            if self._fast is not None:
                self._fast.release(vu)

    async def _back_off(self, delay: float, vu: int, retired: set[int]) -> None:
        """Wait ``delay`` before the VU's next iteration; a stop or its retirement ends it."""
        end = self._clock.now() + delay
        while delay > 0 and not self._books._stopping and vu not in retired:
            await self._sleep(min(delay, _CLOSED_TICK))
            delay = end - self._clock.now()

    async def _run_closed(self, schedule: ClosedSchedule) -> float:
        vus: dict[int, asyncio.Future[None]] = {}
        retired: set[int] = set()
        while not self._books._stopping:
            elapsed = self._clock.now() - self._t0
            if elapsed >= schedule.duration:
                break
            for vu in [v for v, task in vus.items() if task.done()]:
                del vus[vu]
                retired.discard(vu)
            live = sorted(v for v in vus if v not in retired)
            target = schedule.vus_at(elapsed)
            for vu in live[target:]:
                retired.add(vu)
                if self._loop is not None:
                    self._loop.wake(vu)  # one backing off retires now
            free = (v for v in range(schedule.max_vus + len(vus) + 1) if v not in vus)
            for _ in range(target - len(live)):
                vu = next(free)
                if self._loop is not None:
                    vus[vu] = self._tasks.track(self._loop.closed_vu(vu, retired))
                else:
                    vus[vu] = self._tasks.spawn(self._vu_loop(vu, retired), f"soakmon-vu-{vu}")
            await self._sleep(min(_CLOSED_TICK, schedule.duration - elapsed))
        return self._clock.now() - self._t0

    # -- open model ----------------------------------------------------------------------------

    async def _wait_until(self, due: float) -> None:
        fine = self._fine
        if fine is None:
            await self._sleep(due - self._clock.now())
            return
        delay = due - self._clock.now()
        if delay > 0.02:
            await self._sleep(delay - 0.005)  # the loop's timer (a stop ends it), then exactly
        if not self._books._stopping:
            await fine.sleep_until(due)

    def _real_due(self, due: float) -> float:
        """``due`` (by the run's clock) on the requests' clock (``time.monotonic``)."""
        if self._clock is SYSTEM_CLOCK:
            return due
        return monotonic() - max(0.0, self._clock.now() - due)  # the lateness by the clock

    async def _open_iteration(self, vu: int, due: float, free: deque[int]) -> None:
        due = self._real_due(due)
        try:
            await self._iteration(vu, due)
        finally:
            free.append(vu)

    async def _run_open(self, schedule: OpenSchedule) -> float:
        free: deque[int] = deque(range(schedule.pre_allocated_vus))
        allocated, most = schedule.pre_allocated_vus, schedule.max_vus
        t0, index, books = self._t0, 0, self._books
        while not books._stopping:
            offset = schedule.start_offset(index)
            if offset is None:
                break
            index += 1
            due = t0 + offset
            await self._wait_until(due)
            if books._stopping:
                break
            if free:
                vu = free.popleft()
            elif allocated < most:
                vu, allocated = allocated, allocated + 1
            else:
                books._dropped += 1
                continue
            books._iterations += 1
            if self._loop is not None:
                self._tasks.track(self._loop.open_iteration(vu, self._real_due(due), free))
            else:
                self._tasks.spawn(self._open_iteration(vu, due, free), "soakmon-iteration")
        return max(schedule.duration, self._clock.now() - t0)

    # -- reporting -----------------------------------------------------------------------------

    @property
    def uses_fast_path(self) -> bool:
        """Whether requests go through the lean fast-path transport."""
        return self._fast is not None

    def progress(self) -> Progress:
        """The current progress snapshot."""
        return self._books.progress(self._clock.now() - self._t0, self.executor.duration)

    async def _report(self) -> None:
        """Close intervals on their grid and snapshot progress, until cancelled."""
        books = self._books
        tick = min(self._progress_every, books.interval)
        next_flush = books.edge(0.0) + books.interval
        ticks = 1
        while True:
            # on a grid from the start: a late wake-up (a busy machine) does not shift the next;
            # awake at each interval edge too (an origin's edges are off the ticks' grid)
            wake = min(ticks * tick, next_flush)
            await self._clock.sleep(self._t0 + wake - self._clock.now())
            elapsed = self._clock.now() - self._t0
            ticks = math.floor((elapsed + EPSILON) / tick) + 1
            if elapsed >= next_flush - EPSILON:
                edge = books.edge(elapsed)
                books.flush(elapsed if books.origin is None else edge)
                next_flush = edge + books.interval
            if self._on_progress is not None:
                notify(self._on_progress, self.progress())

    # -- driver --------------------------------------------------------------------------------

    async def _drain(self) -> None:
        """Let running iterations finish within the graceful stop, then cancel the rest."""
        self._books._stopping = True
        if self._loop is not None:
            self._loop.wake()  # VUs backing off end now
        self._books._interrupted = await self._tasks.drain(self._graceful)

    async def run(self) -> RunOutcome:
        """Run the schedule to its end (or :meth:`stop`); returns totals and stats."""
        self._t0 = self._clock.now()
        self._books.start(self._t0)
        reporter: asyncio.Task[None] | None = None
        try:  # from here on, whatever was set up is torn down, even if setting up failed
            if self._fast is not None and self.client.mode is ConnectionMode.SHARED:
                count_only = (
                    self._count_only
                    and not self.client.hooks.has_request_done
                    and not self.client.keep_body
                )
                self._loop = FastLoop(
                    self._books, self.client, self._requests, count_only=count_only
                )
            if self._clock is SYSTEM_CLOCK and isinstance(self.executor, OpenSchedule):
                self._fine = fine_timer()
            reporter = asyncio.create_task(self._report(), name="soakmon-runner-report")
            if isinstance(self.executor, OpenSchedule):
                active = await self._run_open(self.executor)
            else:
                active = await self._run_closed(self.executor)
            await self._drain()
        finally:
            if reporter is not None:
                reporter.cancel()
                await asyncio.gather(reporter, return_exceptions=True)
            await self._tasks.cancel_all()
            if self._fast is not None:
                self._fast.close()
            if self._loop is not None:
                self._loop.close()
            if self._fine is not None:
                self._fine.close()
        if self._tasks.failure is not None:
            raise self._tasks.failure
        duration = self._clock.now() - self._t0
        self._books.flush(duration)
        stats = self._books.stats(self.executor.name, duration, active)
        if self._on_progress is not None:
            notify(self._on_progress, self.progress())
        return RunOutcome(self._books._total, stats)
