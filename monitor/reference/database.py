"""The database adapter: engine, pool accounting, snapshot reads and retried write transactions."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import event, select, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, InterfaceError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.util import await_only

from monitor.reference import schema
from monitor.reference.errors import (
    CommitUnknown,
    DatabaseUnreachable,
    RetryLater,
    describe_failure,
)
from monitor.reference.retry import RetryPolicy, sqlstate_of, transient_cause

T = TypeVar("T")
Work = Callable[[AsyncConnection], Awaitable[T]]

DEFAULT_POLICY = RetryPolicy()
_INSUFFICIENT_PRIVILEGE = "42501"
_SCHEMA_LOCK_KEY = 0x50AC_0001  # pg_advisory_xact_lock key serialising schema creation


@dataclass(frozen=True)
class PoolStats:
    size: int
    """Connections the pool can hand out at most (persistent + overflow)."""
    in_use: int
    """Connections checked out right now."""
    waiting: int
    """Callers waiting for a connection right now."""


class Database:
    """One engine per service instance; every unit of work is one transaction."""

    def __init__(
        self,
        url: URL,
        *,
        pool_size: int = 10,
        max_overflow: int = 5,
        pool_timeout: float = 10.0,
        deadlock_timeout_ms: int = 20,
        on_retry: Callable[[str], None] = lambda cause: None,
    ) -> None:
        self.url = url
        self.dialect = url.get_backend_name()
        self._on_retry = on_retry
        self._waiting = 0
        self._max_overflow = max_overflow
        self._sqlite_writer = asyncio.Lock()
        options: dict[str, Any] = {}
        if self.dialect == "postgresql":
            # writes run at READ COMMITTED whatever the server default; reads pick their own
            options = {
                "connect_args": {"timeout": 5, "command_timeout": 60},
                "isolation_level": "READ COMMITTED",
            }
        self.engine: AsyncEngine = create_async_engine(
            url,
            poolclass=AsyncAdaptedQueuePool,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            **options,
        )
        if self.dialect == "sqlite":
            _install_sqlite_hooks(self.engine)
        else:
            _install_postgres_hooks(self.engine, deadlock_timeout_ms)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def pool_stats(self) -> PoolStats:
        pool = self.engine.pool
        assert isinstance(pool, AsyncAdaptedQueuePool)
        capacity = pool.size() + self._max_overflow
        return PoolStats(size=capacity, in_use=pool.checkedout(), waiting=self._waiting)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        """Check a connection out of the pool (counted as waiting until it arrives)."""
        self._waiting += 1
        try:
            conn = await self.engine.connect()
        except PoolTimeout:
            raise RetryLater("database connection pool exhausted") from None
        finally:
            self._waiting -= 1
        try:
            yield conn
        finally:
            await asyncio.shield(conn.close())

    async def checkout(self) -> AsyncConnection:
        """A connection the caller must close itself (used by the pool-leak fault)."""
        self._waiting += 1
        try:
            return await self.engine.connect()
        except PoolTimeout:
            raise RetryLater("database connection pool exhausted") from None
        finally:
            self._waiting -= 1

    @asynccontextmanager
    async def begin(self, *, write: bool) -> AsyncIterator[AsyncConnection]:
        """One transaction: writes start with BEGIN IMMEDIATE on SQLite (no upgrade deadlock);
        reads are one consistent snapshot (deferred BEGIN on SQLite WAL, REPEATABLE READ
        READ ONLY on PostgreSQL). Writes run at READ COMMITTED on PostgreSQL."""
        if write and self.is_sqlite:
            # SQLite has one writer at a time: queue writers of this process here (FIFO, no
            # busy-handler sleeps); busy_timeout still arbitrates between processes.
            async with self._sqlite_writer, self.connection() as conn:
                await conn.execution_options(sqlite_begin="BEGIN IMMEDIATE")
                async with conn.begin():
                    yield conn
            return
        async with self.connection() as conn:
            if self.is_sqlite:
                await conn.execution_options(sqlite_begin="BEGIN")
            elif not write:
                await conn.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
            async with conn.begin():
                yield conn

    async def write(self, work: Work[T], policy: RetryPolicy = DEFAULT_POLICY) -> T:
        """Run ``work`` in a write transaction, retrying deadlock / serialization victims."""
        return await self._run(work, write=True, policy=policy)

    async def read(self, work: Work[T]) -> T:
        """Run ``work`` in a read-only snapshot transaction."""
        return await self._run(work, write=False, policy=DEFAULT_POLICY)

    async def _run(self, work: Work[T], *, write: bool, policy: RetryPolicy) -> T:
        attempt = 0
        while True:
            attempt += 1
            done = False
            try:
                async with self.begin(write=write) as conn:
                    result = await work(conn)
                    done = True
                return result
            except (DBAPIError, OSError) as exc:
                if write and done and _connection_lost(exc):
                    raise CommitUnknown(
                        "database connection lost during COMMIT; the write may or may not be"
                        f" applied ({describe_failure(exc)})"
                    ) from exc
                if not isinstance(exc, DBAPIError):
                    raise
                cause = transient_cause(exc)
                if cause is None:
                    raise
                if not policy.should_retry(attempt):
                    raise RetryLater(
                        f"transaction failed {attempt} time(s) ({cause}); retry later"
                    ) from exc
                self._on_retry(cause)
                await asyncio.sleep(policy.delay(attempt))

    async def ping(self) -> None:
        async with self.connection() as conn:
            await conn.execute(text("SELECT 1"))

    async def init_schema(self) -> None:
        """Create (or migrate) the schema idempotently; safe when two processes start at once."""
        try:
            async with self.begin(write=True) as conn:
                if not self.is_sqlite:
                    await conn.execute(
                        text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SCHEMA_LOCK_KEY}
                    )
                await conn.run_sync(schema.metadata.create_all)
                found = (await conn.execute(select(schema.schema_info.c.version))).scalar()
                if found is None:
                    await conn.execute(
                        schema.schema_info.insert().values(id=1, version=schema.SCHEMA_VERSION)
                    )
                elif found > schema.SCHEMA_VERSION:
                    raise DatabaseUnreachable(
                        f"database schema version {found} is newer than this service "
                        f"({schema.SCHEMA_VERSION})"
                    )
        except (OSError, SQLAlchemyError, RetryLater) as exc:
            raise DatabaseUnreachable(
                f"cannot use database {self.safe_url}: {describe_failure(exc)}"
            ) from exc

    @property
    def safe_url(self) -> str:
        return self.url.set(drivername=self.dialect).render_as_string(hide_password=True)

    async def dispose(self) -> None:
        await self.engine.dispose()


def _set_wal(cursor: Any, within_s: float = 10.0) -> None:
    """Switch to WAL. Converting a new file needs an exclusive lock, and SQLite answers
    "database is locked" at once (without the busy handler) while another process creates the
    same file, so retry for a while. Runs in aiosqlite's worker thread: sleeping is fine."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    """WAL + busy_timeout on every connection; we emit BEGIN ourselves (pysqlite recipe)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 10000")
        _set_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN IMMEDIATE"))


def _install_postgres_hooks(engine: AsyncEngine, deadlock_timeout_ms: int) -> None:
    """Detect deadlocks after ``deadlock_timeout_ms`` instead of the server default (1 s) when
    the role may change it (superuser); otherwise keep the server setting."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        raw = dbapi_connection.driver_connection
        try:
            await_only(raw.execute(f"SET deadlock_timeout = '{int(deadlock_timeout_ms)}ms'"))
        except Exception as exc:
            if sqlstate_of(exc) != _INSUFFICIENT_PRIVILEGE:
                raise


def _connection_lost(exc: BaseException) -> bool:
    """A failure that leaves a COMMIT's outcome unknown: the connection itself went away (a
    reset, a closed socket), not a refusal the database answered (a serialization failure at
    COMMIT is a definite rollback)."""
    if isinstance(exc, OSError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated or isinstance(exc, InterfaceError):
            return True
        orig = exc.orig
        return isinstance(orig, OSError) or type(orig).__name__ in (
            "InterfaceError",
            "ConnectionDoesNotExistError",
            "ConnectionFailureError",
        )
    return False
