"""Process-level faults: memory leak, connection-pool leak, slowness."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.reference.behaviour import Behaviour
from monitor.reference.database import Database
from monitor.reference.faults.base import Fault

LEAK_CHUNK = 256 * 1024
_LEAKED: list[bytes] = []  # module-level, never cleared: that is the leak


async def _leak_memory(_db: Database) -> None:
    _LEAKED.append(b"\xa5" * LEAK_CHUNK)  # written bytes, so resident memory really grows


def _memory_leak(b: Behaviour) -> Behaviour:
    return replace(b, request_hooks=(*b.request_hooks, _leak_memory))


def _pool_leak(b: Behaviour) -> Behaviour:
    held: list[AsyncConnection] = []

    async def leak_connection(db: Database) -> None:
        held.append(await db.checkout())  # never returned to the pool

    async def close_held() -> None:
        while held:
            await held.pop().close()

    return replace(
        b,
        request_hooks=(*b.request_hooks, leak_connection),
        shutdown_hooks=(*b.shutdown_hooks, close_held),
    )


async def _sleep(_db: Database) -> None:
    await asyncio.sleep(0.6)


def _slow(b: Behaviour) -> Behaviour:
    return replace(b, request_hooks=(*b.request_hooks, _sleep))


FAULTS = (
    Fault(
        "memory-leak",
        "memory stays bounded (every request keeps 256 KiB in a module-level list)",
        _memory_leak,
    ),
    Fault(
        "pool-leak",
        "the connection pool never exhausts (every request keeps a connection checked out)",
        _pool_leak,
    ),
    Fault("slow", "P95 latency < 500 ms (every request sleeps 600 ms)", _slow),
)
