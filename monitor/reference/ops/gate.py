"""A per-key admission gate: at most ``limit`` concurrent holders for the same key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager


class KeyedGate:
    """Bounds in-flight work per key (e.g. per pair of balances) within this process.

    Transfers between the same two users queue here beyond ``limit``, so a hot pair does not
    turn into a lock convoy in the database where every waiter joins a deadlock cycle. With a
    limit of 2, two opposite transfers still run at once and can still deadlock (and be retried).
    Idle keys are forgotten, so memory is bounded by the keys in flight.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._entries: dict[Hashable, tuple[asyncio.Semaphore, list[int]]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = (asyncio.Semaphore(self.limit), [0])
        semaphore, users = entry
        users[0] += 1
        try:
            async with semaphore:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._entries[key]
