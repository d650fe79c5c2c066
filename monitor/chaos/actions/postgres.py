"""PostgreSQL faults (asyncpg): ``pg-terminate`` (end the target's backends, once or again
and again for the duration), ``pg-lock`` (hold a table lock for the duration) and
``pg-connections`` (hold connections until only ``leave_free`` remain).

soakmon's own connections carry ``application_name = soakmon-chaos-<action id>``; a revert
closes them and, after a crash, terminates any that are left by that name.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Annotated, Any, Literal

import asyncpg
from pydantic import Field, model_validator

from monitor.chaos.action import Action, ActionContext, ActionScope, Record
from monitor.chaos.errors import ActionError
from monitor.chaos.registry import ActionSettings, action_kind

APP_PREFIX = "soakmon-chaos-"
_IDENT = r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$"


class PgSettings(ActionSettings):
    dsn: str | None = None
    """Connection URL (postgresql://user@host:port/db) of a role that may terminate the
    target's backends (a superuser, or a member of pg_signal_backend). Default: none."""
    dsn_env: str | None = None
    """Environment variable holding the URL (keeps passwords out of files). Default: none."""

    @model_validator(mode="after")
    def _one_dsn(self) -> PgSettings:
        if (self.dsn is None) == (self.dsn_env is None):
            raise ValueError("give exactly one of `dsn` and `dsn_env`")
        return self

    def url(self) -> str:
        if self.dsn is not None:
            return self.dsn
        assert self.dsn_env is not None
        value = os.environ.get(self.dsn_env)
        if not value:
            raise ActionError(f"environment variable {self.dsn_env} (the PostgreSQL URL) is unset")
        return value


async def _connect(s: PgSettings, ctx: ActionContext, **kw: Any) -> asyncpg.Connection:
    try:
        conn: asyncpg.Connection = await asyncpg.connect(
            s.url(), server_settings={"application_name": APP_PREFIX + ctx.id}, timeout=10, **kw
        )
        return conn
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise ActionError(f"PostgreSQL: cannot connect: {exc}") from None


async def _terminate_own(s: PgSettings, ctx: ActionContext) -> None:
    """End every connection this action opened (after a crash they may linger a moment)."""
    conn = await _connect(s, ctx)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = $1 AND pid <> pg_backend_pid()",
            APP_PREFIX + ctx.id,
        )
    finally:
        await conn.close()


class TerminateSettings(PgSettings):
    database: str | None = None
    """Terminate the backends connected to this database. Default: none."""
    application_name: str | None = None
    """Terminate the backends with this application_name. Default: none."""
    every: Annotated[float, Field(gt=0)] | None = None
    """Terminate again every this many seconds while the step lasts. Default: once."""

    @model_validator(mode="after")
    def _selector(self) -> TerminateSettings:
        if self.database is None and self.application_name is None:
            raise ValueError("give `database` and/or `application_name` (whose backends to end)")
        return self

    def what(self) -> str:
        parts = []
        if self.database is not None:
            parts.append(f"database {self.database!r}")
        if self.application_name is not None:
            parts.append(f"application_name {self.application_name!r}")
        return " and ".join(parts)


@action_kind("pg-terminate", settings=TerminateSettings)
class PgTerminate(Action[TerminateSettings]):
    """Terminate the target's PostgreSQL backends (pg_terminate_backend), once or repeatedly."""

    _task: asyncio.Task[None] | None = None

    def describe(self) -> str:
        again = f", again every {self.settings.every:g}s" if self.settings.every else ""
        return f"terminate PostgreSQL backends of {self.settings.what()}{again}"

    def scopes(self, record: Record | None = None) -> list[ActionScope]:
        return [ActionScope("database", self.settings.database or "*")]

    async def _once(self, conn: asyncpg.Connection) -> int:
        s = self.settings
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend' "
            "AND application_name NOT LIKE 'soakmon-chaos-%' "
            "AND ($1::text IS NULL OR datname = $1) "
            "AND ($2::text IS NULL OR application_name = $2)",
            s.database,
            s.application_name,
        )
        return sum(1 for r in rows if r["ok"])

    async def prepare(self, ctx: ActionContext) -> Record:
        conn = await _connect(self.settings, ctx)
        await conn.close()
        return {"terminated": 0}

    async def inject(self, ctx: ActionContext, record: Record) -> None:
        conn = await _connect(self.settings, ctx)
        try:
            record["terminated"] = await self._once(conn)
        finally:
            await conn.close()
        if self.settings.every:
            self._task = asyncio.create_task(self._again(ctx, record), name=f"chaos-{ctx.id}")

    async def _again(self, ctx: ActionContext, record: Record) -> None:
        assert self.settings.every is not None
        while True:
            await asyncio.sleep(self.settings.every)
            with contextlib.suppress(ActionError, asyncpg.PostgresError, OSError):
                conn = await _connect(self.settings, ctx)
                try:
                    record["terminated"] += await self._once(conn)
                finally:
                    await conn.close()

    async def revert(self, ctx: ActionContext, record: Record) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class LockSettings(PgSettings):
    table: Annotated[str, Field(pattern=_IDENT)]
    """Table to lock (`name` or `schema.name`)."""
    mode: Literal[
        "ACCESS EXCLUSIVE", "EXCLUSIVE", "SHARE ROW EXCLUSIVE", "SHARE", "ROW EXCLUSIVE"
    ] = "ACCESS EXCLUSIVE"
    """Lock mode. Default: ACCESS EXCLUSIVE (blocks reads and writes)."""


@action_kind("pg-lock", settings=LockSettings)
class PgLock(Action[LockSettings]):
    """Hold a PostgreSQL table lock for the duration (blocked queries queue behind it)."""

    _conn: asyncpg.Connection | None = None

    def describe(self) -> str:
        return f"hold LOCK TABLE {self.settings.table} IN {self.settings.mode} MODE"

    def scopes(self, record: Record | None = None) -> list[ActionScope]:
        return [ActionScope("table", self.settings.table)]

    async def inject(self, ctx: ActionContext, record: Record) -> None:
        conn = await _connect(self.settings, ctx)
        self._conn = conn
        try:
            await conn.execute("BEGIN")
            await conn.execute(f"LOCK TABLE {self.settings.table} IN {self.settings.mode} MODE")
        except asyncpg.PostgresError as exc:
            raise ActionError(f"pg-lock {self.settings.table}: {exc}") from None

    async def revert(self, ctx: ActionContext, record: Record) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(asyncpg.PostgresError, OSError):
                await conn.execute("ROLLBACK")
            await conn.close()
        else:  # a fresh instance after a crash: end what the dead run left
            await _terminate_own(self.settings, ctx)


class ConnectionsSettings(PgSettings):
    leave_free: Annotated[int, Field(ge=0)] = 0
    """Open connections until only this many remain below max_connections (minus the
    superuser reserve). Default: 0 (none left)."""
    max_open: Annotated[int, Field(gt=0)] = 500
    """Never hold more than this many. Default: 500."""


@action_kind("pg-connections", settings=ConnectionsSettings)
class PgConnections(Action[ConnectionsSettings]):
    """Use up PostgreSQL connections until only `leave_free` remain, for the duration."""

    def __init__(self, settings: ConnectionsSettings) -> None:
        super().__init__(settings)
        self._held: list[asyncpg.Connection] = []

    def describe(self) -> str:
        return f"hold PostgreSQL connections until {self.settings.leave_free} remain free"

    async def prepare(self, ctx: ActionContext) -> Record:
        conn = await _connect(self.settings, ctx)
        try:
            limit = int(await conn.fetchval("SHOW max_connections"))
            reserved = int(await conn.fetchval("SHOW superuser_reserved_connections"))
            used = int(await conn.fetchval("SELECT count(*) FROM pg_stat_activity "
                                           "WHERE backend_type = 'client backend'"))  # fmt: skip
        finally:
            await conn.close()
        free = limit - reserved - used - self.settings.leave_free
        want = max(0, min(free, self.settings.max_open))
        return {"max_connections": limit, "in_use": used, "want": want}

    async def inject(self, ctx: ActionContext, record: Record) -> None:
        for _ in range(int(record["want"])):
            try:
                self._held.append(await _connect(self.settings, ctx))
            except ActionError:
                break  # the server is full already: that is the fault
        record["held"] = len(self._held)

    async def revert(self, ctx: ActionContext, record: Record) -> None:
        held, self._held = self._held, []
        await asyncio.gather(*(c.close() for c in held), return_exceptions=True)
        if not held and record.get("held"):
            await _terminate_own(self.settings, ctx)
