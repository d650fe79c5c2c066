"""A typed event bus where publishing never waits for a subscriber.

Two kinds of listener, chosen by what the listener is:

- **Plain functions** (``def listener(event)``) run inline, in registration order, inside
  :meth:`EventBus.emit`. They must be quick and do no I/O: update a dict, set a gauge,
  append to a window. The status API, the metrics exporter and the history are of this kind,
  so ``/api/status`` reflects an event as soon as ``emit`` returns.
- **Coroutine functions** (``async def listener(event)``) each get a bounded queue of their own
  and a worker task that awaits them one event at a time, in order. ``emit`` only enqueues, so
  a slow sink (an HTTP notification, a Kubernetes call) delays nobody but itself. When its
  queue is full the oldest event is dropped and counted in :attr:`EventBus.dropped` (a warning
  is logged on the first drop and every 1,000th).

A listener that raises is logged and skipped; it never reaches the publisher. A plain function
that returns an awaitable has it scheduled as a task (not awaited by ``emit``).

Call :meth:`EventBus.drain` to wait until queued listeners are idle (tests, shutdown) and
:meth:`EventBus.aclose` to drain with a deadline and stop the workers.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from monitor.events.types import EVENT_TYPES, Event

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
Listener = Callable[[Any], Awaitable[None] | None]

DEFAULT_QUEUE_SIZE = 1000
"""Events a queued (async) listener may lag behind before the oldest are dropped."""


def _name(listener: object) -> str:
    return str(getattr(listener, "__qualname__", None) or repr(listener))


def _is_async(listener: object) -> bool:
    if inspect.iscoroutinefunction(listener):
        return True
    call = getattr(listener, "__call__", None)  # noqa: B004 - an async __call__ counts
    return call is not None and inspect.iscoroutinefunction(call)


class _Queued:
    """One async listener with its own bounded queue and worker task."""

    def __init__(self, bus: EventBus, listener: Listener, size: int) -> None:
        self.bus = bus
        self.listener = listener
        self.name = _name(listener)
        self.queue: collections.deque[Event] = collections.deque(maxlen=size)
        self.wake = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self.task: asyncio.Task[None] | None = None

    def put(self, event: Event) -> None:
        if len(self.queue) == self.queue.maxlen:
            self.bus._count_drop(self.name)
        self.queue.append(event)
        self.idle.clear()
        self.wake.set()
        if self.task is None or self.task.done():
            with contextlib.suppress(RuntimeError):  # no running loop: started on next emit
                self.task = asyncio.get_running_loop().create_task(
                    self._work(), name=f"soakmon-listener:{self.name}"
                )

    async def _work(self) -> None:
        while True:
            while self.queue:
                event = self.queue.popleft()
                try:
                    await self.listener(event)  # type: ignore[misc]
                except Exception:
                    log.exception(
                        "listener %s failed on %s (ignored)", self.name, type(event).__name__
                    )
            self.idle.set()
            self.wake.clear()
            await self.wake.wait()


class EventBus:
    """Dispatches events to the listeners registered for their type (see the module doc)."""

    def __init__(self, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self.queue_size = queue_size
        self._inline: dict[type[Any], list[Listener]] = {}
        self._queued: dict[type[Any], list[_Queued]] = {}
        self._by_listener: dict[int, _Queued] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.dropped: collections.Counter[str] = collections.Counter()
        """Events dropped per queued listener (its queue was full)."""

    def on(
        self,
        kind: type[E],
        listener: Callable[[E], Awaitable[None] | None],
        *,
        queue_size: int | None = None,
    ) -> None:
        """Call ``listener(event)`` for every event of type ``kind``.

        A coroutine function is queued (``queue_size`` bounds its backlog); a plain function
        runs inline and must be quick. Registering one async listener for several kinds
        shares one queue, so it sees events in publishing order.
        """
        if kind not in EVENT_TYPES:
            raise TypeError(f"{kind!r} is not an event type of monitor.events")
        if _is_async(listener):
            sub = self._by_listener.get(id(listener))
            if sub is None:
                sub = _Queued(self, listener, queue_size or self.queue_size)
                self._by_listener[id(listener)] = sub
            self._queued.setdefault(kind, []).append(sub)
        else:
            self._inline.setdefault(kind, []).append(listener)

    def on_any(
        self, listener: Callable[[Event], Awaitable[None] | None], *, queue_size: int | None = None
    ) -> None:
        """Register ``listener`` for every event type (annotation and audit sinks)."""
        for kind in EVENT_TYPES:
            self.on(kind, listener, queue_size=queue_size)

    async def emit(self, event: Event) -> None:
        """Publish ``event``: inline listeners run now, queued ones are enqueued. Never waits
        for a queued listener."""
        self.publish(event)

    def publish(self, event: Event) -> None:
        """:meth:`emit` for synchronous code."""
        kind = type(event)
        for listener in self._inline.get(kind, ()):
            try:
                maybe = listener(event)
            except Exception:
                log.exception("listener %s failed on %s (ignored)", _name(listener), kind.__name__)
                continue
            if maybe is not None and inspect.isawaitable(maybe):
                self._schedule(maybe, _name(listener), kind.__name__)
        for sub in self._queued.get(kind, ()):
            sub.put(event)

    def _schedule(self, awaitable: Awaitable[None], name: str, kind: str) -> None:
        async def guarded() -> None:
            try:
                await awaitable
            except Exception:
                log.exception("listener %s failed on %s (ignored)", name, kind)

        task = asyncio.get_running_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _count_drop(self, name: str) -> None:
        self.dropped[name] += 1
        n = self.dropped[name]
        if n == 1 or n % 1000 == 0:
            log.warning("listener %s is too slow: %d event(s) dropped so far", name, n)

    async def drain(self) -> None:
        """Wait until every queued listener has handled everything published so far."""
        for sub in list(self._by_listener.values()):
            if sub.queue and (sub.task is None or sub.task.done()):
                sub.task = asyncio.get_running_loop().create_task(sub._work())
            await sub.idle.wait()
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self, deadline_s: float = 5.0) -> None:
        """Drain for at most ``deadline_s`` seconds, then stop the listener workers."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drain(), timeout=deadline_s)
        tasks = [s.task for s in self._by_listener.values() if s.task is not None]
        tasks += list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for sub in self._by_listener.values():
            sub.task = None
