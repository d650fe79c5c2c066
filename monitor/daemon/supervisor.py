"""One supervisor of named root tasks (after kopf's ``_core/reactor/running.py``).

- Every root task is guarded: an exception is logged with the task's name and the task is
  restarted after a capped exponential backoff, so one crashing loop never takes the process down.
  A configuration error (:class:`monitor.errors.UsageError`) cannot be fixed by retrying: the
  task is marked ``failed``, logged once and not restarted.
- Crashes and failures are published on the event bus (``LoopCrashed``, ``LoopFailed``).
- Signal handlers only set the stop flag. When it is set, the tasks are asked to finish (they
  watch ``stop``); stragglers get ``grace_s`` seconds, then are cancelled; cancellation itself is
  bounded by ``cancel_timeout_s`` (a task that ignores cancellation is left behind and named in
  the log), so :meth:`Supervisor.run` returns within ``grace_s + cancel_timeout_s`` of the stop.
- A task that returns normally before ``stop`` is set is finished for good (not restarted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from monitor.errors import is_permanent
from monitor.events import EventBus, LoopCrashed, LoopFailed

log = logging.getLogger(__name__)

TaskFactory = Callable[[asyncio.Event], Awaitable[None]]


@dataclass
class RootTask:
    """A named long-running coroutine factory; it receives the stop flag."""

    name: str
    factory: TaskFactory
    restarts: int = 0
    last_error: str | None = None
    state: Literal["pending", "running", "restarting", "failed", "finished"] = "pending"


@dataclass
class Supervisor:
    """Runs root tasks until stopped; see the module docstring."""

    grace_s: float = 20.0
    cancel_timeout_s: float = 5.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: dict[str, RootTask] = field(default_factory=dict)
    bus: EventBus | None = None

    def add(self, name: str, factory: TaskFactory) -> None:
        """Register a root task; names are unique."""
        if name in self.tasks:
            raise ValueError(f"root task {name!r} registered twice")
        self.tasks[name] = RootTask(name, factory)

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT only set the stop flag; cleanup happens in :meth:`run`."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)

    def remove_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)

    def _on_signal(self, sig: signal.Signals) -> None:
        log.info("received %s: stopping", sig.name)
        self.stop.set()

    async def _guarded(self, task: RootTask) -> None:
        delay = self.backoff_initial_s
        while not self.stop.is_set():
            task.state = "running"
            try:
                await task.factory(self.stop)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                task.last_error = f"{type(exc).__name__}: {exc}"
                if is_permanent(exc):
                    task.state = "failed"
                    log.error("root task %r failed (not restarted): %s", task.name, exc)
                    await self._publish(LoopFailed(task.name, task.last_error, time.time()))
                    return
                task.restarts += 1
                task.state = "restarting"
                log.exception("root task %r crashed; restarting in %.1f s", task.name, delay)
                await self._publish(
                    LoopCrashed(task.name, task.last_error, task.restarts, delay, time.time())
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), timeout=delay)
                delay = min(delay * 2, self.backoff_max_s)
            else:
                task.state = "finished"
                return
        task.state = "finished"

    async def _publish(self, event: LoopCrashed | LoopFailed) -> None:
        if self.bus is not None:
            await self.bus.emit(event)

    async def run(self) -> None:
        """Run every root task until the stop flag is set, then wind them down."""
        running: dict[str, asyncio.Task[object]] = {
            name: asyncio.create_task(self._guarded(task), name=f"soakmon:{name}")
            for name, task in self.tasks.items()
        }
        stopper: asyncio.Task[object] = asyncio.create_task(
            self.stop.wait(), name="soakmon:stop-flag"
        )
        try:
            pending: set[asyncio.Task[object]] = set(running.values())
            while pending and not self.stop.is_set():
                _done, pending = await asyncio.wait(
                    pending | {stopper}, return_when=asyncio.FIRST_COMPLETED
                )
                pending.discard(stopper)
            if not pending:
                return
            log.info("waiting up to %.0f s for %d task(s) to finish", self.grace_s, len(pending))
            _, stragglers = await asyncio.wait(pending, timeout=self.grace_s)
            if stragglers:
                names = sorted(t.get_name() for t in stragglers)
                log.warning("cancelling %d task(s) after the grace period: %s", len(names), names)
                for t in stragglers:
                    t.cancel()
                await asyncio.wait(stragglers, timeout=self.cancel_timeout_s)
        finally:
            stopper.cancel()
            for t in running.values():
                if not t.done():
                    t.cancel()
            left = [t for t in (stopper, *running.values()) if not t.done()]
            if left:  # a hard deadline: a task that ignores cancellation is left behind
                _, stuck = await asyncio.wait(left, timeout=self.cancel_timeout_s)
                if stuck:
                    names = sorted(t.get_name() for t in stuck)
                    log.error(
                        "%d task(s) ignored cancellation; leaving them: %s", len(names), names
                    )
