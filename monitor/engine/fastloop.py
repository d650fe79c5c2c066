"""Fast-path iterations driven by callbacks: no task, coroutine, future or timer per request.

On the fast path a virtual user's next request is written from the callback that completes
its previous answer (:meth:`~monitor.engine.fastvu.LoopUser.complete`), the way an
event-driven C generator (wrk) works, instead of resuming a coroutine through a future: that
saves three coroutines, a future and a timer per request, most of the Python left on
``soakmon load``'s hot path. What is recorded is unchanged: the same records (or, when nobody
keeps records, the same counts and latencies straight into the interval bucket), the same
error kinds and messages, open-model latency from the intended start, exact iteration,
completion and busy counts.

A closed-model VU is a future that ends when its VU stops looping; an open-model iteration
is a future that ends with the iteration. The runner waits for, drains and cancels them like
tasks. A bug in here fails the VU's future, which stops the run and is re-raised by it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from typing import Protocol

from monitor.engine.client import HttpClient, PreparedRequest
from monitor.engine.fastusers import FastUsers
from monitor.engine.fastvu import LoopUser
from monitor.engine.result import ConcurrentResult

FOLD_EVERY_S = 1.0
"""How often the latencies appended in the current interval bucket are folded into its
histogram at the latest (every read folds them too): bounds their memory."""


class LoopHost(Protocol):
    """The runner's books that the fast loop keeps (the runner reads them for progress and
    stats; plain attributes, because they change on every request)."""

    _current: ConcurrentResult
    _stopping: bool
    _iterations: int
    _completed: int
    _busy: int
    _busy_max: int


class FastLoop:
    """The fast-path VUs of one run (see the module doc)."""

    def __init__(
        self, host: LoopHost, client: HttpClient, requests: Sequence[PreparedRequest], *,
        count_only: bool,
    ) -> None:  # fmt: skip
        self.host = host
        self.client = client
        self.requests = list(requests)
        self.count_only = count_only
        """Nobody keeps records (no sample, no ``request_done`` listener, the default success
        rule, no bodies): a success goes into the bucket as a status and a latency."""
        self.keep_body = client.keep_body
        self.users = FastUsers(client)  # the request bytes (cached unless before_send hooks)
        self.hooks = client.hooks
        self.payloads: list[bytes | None] = []
        """Each request's bytes when no before_send listener adds headers (None: built per
        request, which then also reports what cannot be encoded)."""
        for req in self.requests:
            try:
                self.payloads.append(self.users.payload(req)[0])
            except (ValueError, TypeError):
                self.payloads.append(None)
        self._vus: dict[int, LoopUser] = {}
        self._folding: asyncio.TimerHandle | None = None
        if count_only:  # successes are appended to the bucket's histogram.seconds
            self._folding = asyncio.get_running_loop().call_later(FOLD_EVERY_S, self._fold)

    def _fold(self) -> None:
        """Fold the latencies the hot path appended (a long interval would hold them all)."""
        self.host._current.histogram.fold()
        self._folding = asyncio.get_running_loop().call_later(FOLD_EVERY_S, self._fold)

    def _vu(self, vu: int) -> LoopUser:
        user = self._vus.get(vu)
        if user is None:
            user = self._vus[vu] = LoopUser(self, vu)
        return user

    def closed_vu(self, vu: int, retired: set[int]) -> asyncio.Future[None]:
        """Virtual user ``vu`` loops iterations until the run stops or retires it; the future
        ends when it has stopped (its connection is then closed)."""
        return self._vu(vu).launch(retired=retired, due=None, free=None)

    def open_iteration(self, vu: int, due: float, free: deque[int]) -> asyncio.Future[None]:
        """One iteration on ``vu``, measured from ``due`` (monotonic); ``vu`` goes back to
        ``free`` when it ends."""
        return self._vu(vu).launch(retired=None, due=due, free=free)

    def wake(self, vu: int | None = None) -> None:
        """Closed-model VU ``vu`` (None: every one) backing off goes on now: the run stops or
        retires it, and it ends without waiting out its backoff."""
        users = list(self._vus.values()) if vu is None else [self._vus.get(vu)]
        for user in users:
            if user is not None:
                user.wake()

    def close(self) -> None:
        """Close every connection."""
        if self._folding is not None:
            self._folding.cancel()
            self._folding = None
        vus, self._vus = self._vus, {}
        for user in vus.values():
            user.close()
