"""Fixtures that run the reference target in-process on 127.0.0.1 (SQLite or real PostgreSQL).

- ``reference_factory``: ``await reference_factory(db="sqlite" | "postgres", faults=(...),
  race_window=S)`` -> base URL of a fresh server on a fresh database (``race_window``: seconds
  the race faults pause in their window, default 20 ms, 0 natural); every server is stopped at
  teardown.
- ``reference_url``: one clean server on SQLite.
- ``db_kind`` / ``any_db_reference_url``: run a test once on SQLite and once on PostgreSQL.
- ``http``: an aiohttp ClientSession for the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack
from typing import Protocol

import aiohttp
import pytest

from tests.plugins.postgres import PostgresServer, create_database, drop_database


class ReferenceFactory(Protocol):
    async def __call__(
        self, db: str = "sqlite", faults: Sequence[str] = (), race_window: float | None = None
    ) -> str: ...


@pytest.fixture
async def reference_factory(request: pytest.FixtureRequest) -> AsyncIterator[ReferenceFactory]:
    """Start reference servers on demand; each gets its own fresh database."""
    from monitor.reference import DEFAULT_RACE_WINDOW, ReferenceServer

    databases: list[tuple[PostgresServer, str]] = []
    stack = AsyncExitStack()

    async def make(
        db: str = "sqlite", faults: Sequence[str] = (), race_window: float | None = None
    ) -> str:
        db_url: str | None
        if db == "sqlite":
            db_url = None  # the server makes (and removes) its own temp SQLite file
        elif db == "postgres":
            pg: PostgresServer = request.getfixturevalue("postgres_server")
            db_url = await create_database(pg)
            databases.append((pg, db_url))
        else:
            raise ValueError(f"db must be 'sqlite' or 'postgres', not {db!r}")
        server = await stack.enter_async_context(
            ReferenceServer(
                db_url=db_url,
                host="127.0.0.1",
                port=0,
                faults=tuple(faults),
                race_window=DEFAULT_RACE_WINDOW if race_window is None else race_window,
            )
        )
        url: str = server.url
        return url

    try:
        yield make
    finally:
        await stack.aclose()  # stop the servers before dropping their databases
        for pg, url in databases:
            await drop_database(pg, url)


@pytest.fixture
async def reference_url(reference_factory: ReferenceFactory) -> str:
    """A clean reference target on SQLite."""
    return await reference_factory()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_kind(request: pytest.FixtureRequest) -> str:
    """Parametrises a test over both databases the reference target supports."""
    kind: str = request.param
    return kind


@pytest.fixture
async def any_db_reference_url(reference_factory: ReferenceFactory, db_kind: str) -> str:
    """A clean reference target, once on SQLite and once on PostgreSQL."""
    return await reference_factory(db=db_kind)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session
