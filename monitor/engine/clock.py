"""The runner's sense of time: the system's monotonic clock, or a fake one for tests.

:class:`Runner` decides *when* to start iterations, close intervals and end the run by a
:class:`Clock`. ``SYSTEM_CLOCK`` is ``time.monotonic`` and asyncio's sleeps. :class:`FakeClock`
stands still until a test advances it, so tests of rates, schedules and time windows are exact
and independent of how busy the machine is (requests still go over real sockets).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from typing import Protocol


class Clock(Protocol):
    """Monotonic seconds and sleeping by them."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    async def wait(self, event: asyncio.Event, seconds: float) -> None:
        """Return when ``event`` is set or ``seconds`` have passed."""


class SystemClock:
    """Real time: ``time.monotonic`` and asyncio's timers."""

    @staticmethod
    def now() -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    async def wait(self, event: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)


SYSTEM_CLOCK = SystemClock()


class FakeClock:
    """Virtual time for tests: it only moves in :meth:`advance`, which wakes the sleepers whose
    deadline it passes, earliest first (ties in the order they went to sleep), letting each
    woken task run before moving on. Time is kept in whole nanoseconds, so deadlines computed
    as ``due - now()`` land exactly on ``due`` and steps do not drift."""

    def __init__(self, start: float = 1000.0) -> None:
        self._ns = _ns(start)
        self._sleepers: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._ns / 1e9

    def _timer(self, seconds: float) -> asyncio.Future[None]:
        """A future resolved when time passes ``seconds`` from now (registered at once)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._ns + _ns(seconds), next(self._seq), future))
        return future

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        await self._timer(seconds)

    async def wait(self, event: asyncio.Event, seconds: float) -> None:
        if event.is_set():
            return
        timer = self._timer(seconds)
        waiter: asyncio.Future[None] = asyncio.ensure_future(self._set(event))
        try:
            await asyncio.wait({waiter, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            waiter.cancel()
            await asyncio.gather(waiter, return_exceptions=True)

    @staticmethod
    async def _set(event: asyncio.Event) -> None:
        await event.wait()

    @property
    def next_deadline(self) -> float | None:
        """When the earliest sleeper wakes (None when nobody sleeps)."""
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)  # cancelled sleepers
        return self._sleepers[0][0] / 1e9 if self._sleepers else None

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, waking sleepers in deadline order."""
        end = self._ns + _ns(seconds)
        while self.next_deadline is not None and self._sleepers[0][0] <= end:
            deadline, _, future = heapq.heappop(self._sleepers)
            self._ns = max(self._ns, deadline)
            future.set_result(None)
            for _ in range(3):  # let the woken task run (and perhaps sleep again)
                await asyncio.sleep(0)
        self._ns = end
        await asyncio.sleep(0)


def _ns(seconds: float) -> int:
    return round(seconds * 1_000_000_000)


__all__ = ["SYSTEM_CLOCK", "Clock", "FakeClock", "SystemClock"]
