"""The tasks of a run (VU loops, open-model iterations, fast-loop VUs' futures): waited for,
drained within the graceful stop and cancelled together; the first that fails with an
exception (a bug: transport errors are records) stops the run and is re-raised from it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any


class RunTasks:
    """The run's tasks; ``stop`` is called when one fails."""

    def __init__(self, stop: Callable[[], None]) -> None:
        self._stop = stop
        self._tasks: set[asyncio.Future[None]] = set()
        self.failure: BaseException | None = None
        """The first exception a task raised (re-raised by the run)."""

    def __len__(self) -> int:
        """How many of the run's tasks are still running."""
        return len(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        self.track(task)
        return task

    def track(self, task: asyncio.Future[None]) -> asyncio.Future[None]:
        """Wait for, drain and cancel ``task`` (a task, or a fast-loop VU's future) with the
        run's others."""
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Future[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            # A bug, not a transport error (those are records): stop and re-raise from run().
            if self.failure is None:
                self.failure = exc
            self._stop()

    async def drain(self, graceful: float) -> int:
        """Let running tasks finish within ``graceful`` seconds, then cancel the rest; how
        many were still running."""
        interrupted = 0
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=graceful)
            interrupted = len(pending)
        await self.cancel_all()
        return interrupted

    async def cancel_all(self) -> None:
        tasks = set(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
