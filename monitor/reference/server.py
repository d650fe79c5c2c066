"""``ReferenceServer``: the reference target embedded in an asyncio program (tests, demo, CLI)."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Sequence
from types import TracebackType

from aiohttp import web
from sqlalchemy.engine import URL

from monitor.reference.api.endpoint import Services
from monitor.reference.app import make_app
from monitor.reference.database import Database
from monitor.reference.errors import DatabaseUnreachable
from monitor.reference.faults import (
    DEFAULT_RACE_WINDOW,
    behaviour_for,
    check_fault_names,
    check_race_window,
)
from monitor.reference.metrics import ServiceMetrics
from monitor.reference.ops.users import TokenCache
from monitor.reference.urls import normalise_db_url, sqlite_file_url


class ReferenceServer:
    """Serve the reference target on ``host:port`` (0 = a free port) until stopped.

    ``db_url`` None (or ``sqlite://``) means a temporary SQLite file, removed on exit. Unknown
    fault names and a negative ``race_window`` raise ValueError at construction; a bad URL
    raises DatabaseConfigError and an unreachable database DatabaseUnreachable from
    ``start()``. ``race_window``: seconds each race fault pauses inside its window (default
    20 ms; 0 leaves the window as the code makes it).
    """

    def __init__(
        self,
        db_url: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Sequence[str] = (),
        *,
        pool_size: int = 10,
        max_overflow: int = 5,
        pool_timeout: float = 10.0,
        shutdown_timeout: float = 10.0,
        token_ttl: float | None = None,
        race_window: float = DEFAULT_RACE_WINDOW,
    ) -> None:
        if isinstance(faults, str):
            faults = (faults,)
        self.faults = check_fault_names(faults)
        self.race_window = check_race_window(race_window)
        """Seconds each race fault pauses inside its window (0: natural windows only)."""
        self.host = host
        self.port = port
        self.db_url = db_url or ""
        self._requested_url = db_url
        self._pool = (pool_size, max_overflow, pool_timeout)
        self._shutdown_timeout = shutdown_timeout
        if token_ttl is not None and token_ttl <= 0:
            raise ValueError(f"token_ttl must be > 0 seconds, got {token_ttl}")
        self.token_ttl = token_ttl
        self._temp_dir: tempfile.TemporaryDirectory[str] | None = None
        self._db: Database | None = None
        self._runner: web.AppRunner | None = None
        self._services: Services | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def database(self) -> Database:
        assert self._db is not None, "server not started"
        return self._db

    async def start(self) -> None:
        target = normalise_db_url(self._requested_url or "sqlite://")
        url = target.url
        if target.needs_temp_file:
            self._temp_dir = tempfile.TemporaryDirectory(prefix="soakmon-reference-")
            url = sqlite_file_url(os.path.join(self._temp_dir.name, "reference.db"))
        _check_sqlite_directory(url)
        metrics = ServiceMetrics()
        pool_size, max_overflow, pool_timeout = self._pool
        db = Database(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            on_retry=metrics.count_retry,
        )
        self._db = db
        self.db_url = url.set(drivername=target.dialect).render_as_string(hide_password=False)
        try:
            await db.init_schema()
            metrics.watch_pool(db.pool_stats)
            self._services = Services(
                db=db,
                behaviour=behaviour_for(self.faults, race_window=self.race_window),
                metrics=metrics,
                tokens=TokenCache(ttl_s=self.token_ttl),
            )
            runner = web.AppRunner(
                make_app(self._services),
                handle_signals=False,
                access_log=None,
                shutdown_timeout=self._shutdown_timeout,
            )
            await runner.setup()
            self._runner = runner
            site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
            await site.start()
        except BaseException:
            await self.stop()
            raise
        self.port = _bound_port(runner, self.port)

    async def stop(self) -> None:
        """Finish in-flight requests, close the listener, dispose of the engine, drop temp files."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await asyncio.shield(runner.cleanup())
        services, self._services = self._services, None
        if services is not None:
            for hook in services.behaviour.shutdown_hooks:
                await hook()
        db, self._db = self._db, None
        if db is not None:
            await asyncio.shield(db.dispose())
        temp, self._temp_dir = self._temp_dir, None
        if temp is not None:
            temp.cleanup()

    async def __aenter__(self) -> ReferenceServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def _bound_port(runner: web.AppRunner, fallback: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return fallback


def _check_sqlite_directory(url: URL) -> None:
    """Fail before aiosqlite starts a worker thread when the SQLite file cannot be created (its
    thread would otherwise report the failure again, as a traceback, at interpreter exit)."""
    if url.get_backend_name() != "sqlite" or not url.database:
        return
    folder = os.path.dirname(os.path.abspath(url.database)) or "."
    if not os.path.isdir(folder):
        raise DatabaseUnreachable(
            f"cannot use database sqlite:///{url.database}: unable to open database file "
            f"(no directory {folder})"
        )
