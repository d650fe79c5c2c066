"""A loopback customer-wallet API in the JSON:API style of a payments provider, written for issue
17 as a target whose races have **no sleep in their window** (profile:
``tests/suites/data/wallet-profile.yaml``).

Storage is a real database: SQLite through one shared ``aiosqlite`` connection (the way small
aiohttp services use it), or PostgreSQL through an ``asyncpg`` pool. ``racy=True`` is how such
handlers are commonly written — read the balance, decide, write — with nothing between the read
and the write but the ``await`` of the next statement:

- a credit writes back ``balance read + amount``: concurrent credits overwrite each other (a
  **lost update**; each still inserts its ledger entry, so balance and ledger disagree);
- a debit checks ``balance read >= amount``, then runs ``balance = balance - amount``:
  concurrent debits all pass the check (an **overdraft**).

The race window is whatever the database round trips make it (tens of microseconds on
loopback): a request that arrives a millisecond after another finds it already committed.
``racy=False`` is the correct service: one conditional ``UPDATE … RETURNING`` and the ledger
insert in one transaction.

API (``Authorization: Bearer <api key>``; errors ``{"errors": [{"status", "code", "title"}]}``):
``POST /v1/customers`` {data: {type: customers, attributes: {handle}}} -> 201 {data: {type,
id, attributes: {handle}}, meta: {api_key}};
``GET /v1/customers/{id}/wallet`` -> {data: {type: wallets, id, attributes: {balance,
entry_count}}};
``POST /v1/customers/{id}/wallet/credits`` | ``…/debits`` {data: {type: credits|debits,
attributes: {amount, memo}}} -> 201 {data: wallet} | 402 insufficient_funds;
``GET /v1/customers/{id}/wallet/entries?page[size]=N`` -> {data: [{type: entries, id,
attributes: {amount, memo, created_at}}]} (newest first).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

import aiosqlite
import asyncpg
from aiohttp import web

from tests.engine.servers import serve_app

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS customers (id TEXT PRIMARY KEY, handle TEXT NOT NULL,
                                              api_key TEXT NOT NULL UNIQUE)""",
    """CREATE TABLE IF NOT EXISTS wallets (customer TEXT PRIMARY KEY, balance BIGINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS entries (seq BIGINT NOT NULL, customer TEXT NOT NULL,
                                            amount BIGINT NOT NULL, memo TEXT NOT NULL,
                                            created_at TEXT NOT NULL)""",
]


class Store(Protocol):
    """The few database calls the handlers make; SQL uses ``$1`` placeholders."""

    async def fetchval(self, sql: str, *args: Any) -> Any: ...
    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]: ...
    async def execute(self, sql: str, *args: Any) -> None: ...
    def transaction(self) -> AbstractAsyncContextManager[Store]: ...


class SqliteStore:
    """One shared aiosqlite connection in autocommit mode. A statement outside a transaction,
    and a whole transaction, hold the connection's lock: on a shared connection a statement run
    while another handler's transaction is open would see (and join) its uncommitted work."""

    def __init__(self, db: aiosqlite.Connection, lock: asyncio.Lock | None = None) -> None:
        self.db = db
        self._lock = lock  # None: inside a transaction that already holds it

    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        if self._lock is None:
            yield
            return
        async with self._lock:
            yield

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("$", "?")  # SQLite's numbered parameters: ?1, ?2 ...

    async def fetchval(self, sql: str, *args: Any) -> Any:
        rows = await self.fetch(sql, *args)
        return rows[0][0] if rows else None

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        async with self._turn(), self.db.execute(self._sql(sql), args) as cur:
            return [tuple(r) for r in await cur.fetchall()]

    async def execute(self, sql: str, *args: Any) -> None:
        async with self._turn():
            await self.db.execute(self._sql(sql), args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Store]:
        assert self._lock is not None, "no nested transactions"
        async with self._lock:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteStore(self.db)
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
            await self.db.execute("COMMIT")


class PostgresStore:
    """An asyncpg pool: each call outside a transaction is its own autocommitted statement."""

    def __init__(self, pool: asyncpg.Pool, conn: asyncpg.Connection | None = None) -> None:
        self.pool = pool
        self.conn = conn

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await (self.conn or self.pool).fetchval(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        rows = await (self.conn or self.pool).fetch(sql, *args)
        return [tuple(r) for r in rows]

    async def execute(self, sql: str, *args: Any) -> None:
        await (self.conn or self.pool).execute(sql, *args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Store]:
        async with self.pool.acquire() as conn, conn.transaction():
            yield PostgresStore(self.pool, conn)


STORE = web.AppKey("store", Store)
RACY = web.AppKey("racy", bool)


class _Sequence:
    """Ledger entry numbers (the handlers run in one event loop: no lock needed)."""

    def __init__(self) -> None:
        self.last = 0

    def next(self) -> int:
        self.last += 1
        return self.last


SEQ = web.AppKey("seq", _Sequence)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    def __init__(self, status: int, code: str, title: str) -> None:
        super().__init__(title)
        self.status, self.code, self.title = status, code, title


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        error = {"status": str(exc.status), "code": exc.code, "title": exc.title}
        return web.json_response({"errors": [error]}, status=exc.status)


def _resource(kind: str, ident: str, **attributes: Any) -> dict[str, Any]:
    return {"type": kind, "id": ident, "attributes": attributes}


async def _attributes(request: web.Request, kind: str) -> dict[str, Any]:
    try:
        body = await request.json()
        data = body["data"]
        assert data["type"] == kind
        attributes: dict[str, Any] = data["attributes"]
        return attributes
    except (ValueError, KeyError, TypeError, AssertionError):
        raise ApiError(400, "invalid_document", f"expected {{data: {{type: {kind}}}}}") from None


async def _customer(request: web.Request) -> str:
    """The path's customer, who must be the caller."""
    key = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    found = await request.app[STORE].fetchval("SELECT id FROM customers WHERE api_key = $1", key)
    if found is None:
        raise ApiError(401, "unauthenticated", "missing or unknown API key")
    if found != request.match_info["customer"]:
        raise ApiError(404, "not_found", "no such customer")
    return str(found)


async def create_customer(request: web.Request) -> web.Response:
    attributes = await _attributes(request, "customers")
    ident, key = f"cus_{secrets.token_hex(8)}", f"sk_{secrets.token_hex(16)}"
    store = request.app[STORE]
    async with store.transaction() as tx:
        await tx.execute(
            "INSERT INTO customers (id, handle, api_key) VALUES ($1, $2, $3)",
            ident,
            str(attributes.get("handle", "")),
            key,
        )
        await tx.execute("INSERT INTO wallets (customer, balance) VALUES ($1, 0)", ident)
    document = _resource("customers", ident, handle=attributes.get("handle"))
    return web.json_response({"data": document, "meta": {"api_key": key}}, status=201)


async def _wallet(store: Store, customer: str) -> dict[str, Any]:
    """Balance and entry count from one statement: one snapshot on either database."""
    (row,) = await store.fetch(
        "SELECT balance, (SELECT COUNT(*) FROM entries WHERE customer = $1) FROM wallets "
        "WHERE customer = $1",
        customer,
    )
    return _resource("wallets", customer, balance=int(row[0]), entry_count=int(row[1]))


async def get_wallet(request: web.Request) -> web.Response:
    customer = await _customer(request)
    return web.json_response({"data": await _wallet(request.app[STORE], customer)})


async def _entry(request: web.Request, store: Store, customer: str, amount: int, memo: str) -> None:
    await store.execute(
        "INSERT INTO entries (seq, customer, amount, memo, created_at) VALUES ($1, $2, $3, $4, $5)",
        request.app[SEQ].next(),
        customer,
        amount,
        memo,
        datetime.now(UTC).isoformat(),
    )


async def _amount(request: web.Request, kind: str) -> tuple[int, str]:
    attributes = await _attributes(request, kind)
    amount = attributes.get("amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ApiError(422, "invalid_amount", "amount must be a positive integer")
    return amount, str(attributes.get("memo") or kind)


async def credit(request: web.Request) -> web.Response:
    customer = await _customer(request)
    amount, memo = await _amount(request, "credits")
    store = request.app[STORE]
    if request.app[RACY]:  # read, then write back what was read plus the amount
        balance = await store.fetchval("SELECT balance FROM wallets WHERE customer = $1", customer)
        await store.execute(
            "UPDATE wallets SET balance = $1 WHERE customer = $2", balance + amount, customer
        )
        await _entry(request, store, customer, amount, memo)
    else:
        async with store.transaction() as tx:
            await tx.execute(
                "UPDATE wallets SET balance = balance + $1 WHERE customer = $2", amount, customer
            )
            await _entry(request, tx, customer, amount, memo)
    return await _answer(store, customer)


async def debit(request: web.Request) -> web.Response:
    customer = await _customer(request)
    amount, memo = await _amount(request, "debits")
    store = request.app[STORE]
    if request.app[RACY]:  # check, then debit unconditionally
        balance = await store.fetchval("SELECT balance FROM wallets WHERE customer = $1", customer)
        if balance < amount:
            raise ApiError(402, "insufficient_funds", f"balance {balance} < {amount}")
        await store.execute(
            "UPDATE wallets SET balance = balance - $1 WHERE customer = $2", amount, customer
        )
        await _entry(request, store, customer, -amount, memo)
    else:
        async with store.transaction() as tx:
            left = await tx.fetchval(
                "UPDATE wallets SET balance = balance - $1 WHERE customer = $2 AND balance >= $1 "
                "RETURNING balance",
                amount,
                customer,
            )
            if left is None:
                raise ApiError(402, "insufficient_funds", f"balance < {amount}")
            await _entry(request, tx, customer, -amount, memo)
    return await _answer(store, customer)


async def _answer(store: Store, customer: str) -> web.Response:
    return web.json_response({"data": await _wallet(store, customer)}, status=201)


async def entries(request: web.Request) -> web.Response:
    customer = await _customer(request)
    try:
        size = int(request.query.get("page[size]", "50"))
    except ValueError:
        raise ApiError(400, "invalid_page", "page[size] must be an integer") from None
    rows = await request.app[STORE].fetch(
        "SELECT seq, amount, memo, created_at FROM entries WHERE customer = $1 "
        "ORDER BY seq DESC LIMIT $2",
        customer,
        max(1, min(size, 1000)),
    )
    data = [
        _resource("entries", f"ent_{seq}", amount=int(amount), memo=memo, created_at=at)
        for seq, amount, memo, at in rows
    ]
    return web.json_response({"data": data})


def make_app(store: Store, *, racy: bool) -> web.Application:
    app = web.Application(middlewares=[_errors])
    app[STORE] = store
    app[RACY] = racy
    app[SEQ] = _Sequence()
    app.router.add_post("/v1/customers", create_customer)
    app.router.add_get("/v1/customers/{customer}/wallet", get_wallet)
    app.router.add_post("/v1/customers/{customer}/wallet/credits", credit)
    app.router.add_post("/v1/customers/{customer}/wallet/debits", debit)
    app.router.add_get("/v1/customers/{customer}/wallet/entries", entries)
    return app


@asynccontextmanager
async def _sqlite_store() -> AsyncIterator[Store]:
    async with aiosqlite.connect(":memory:", isolation_level=None) as db:
        for statement in SCHEMA:
            await db.execute(statement)
        yield SqliteStore(db, asyncio.Lock())


@asynccontextmanager
async def _postgres_store(url: str) -> AsyncIterator[Store]:
    async with asyncpg.create_pool(url, min_size=2, max_size=20) as pool:
        for statement in SCHEMA:
            await pool.execute(statement)
        yield PostgresStore(pool)


@asynccontextmanager
async def wallet_server(
    *, racy: bool = False, postgres_url: str | None = None
) -> AsyncIterator[str]:
    """Serve the wallet API on a free loopback port (SQLite in memory, or ``postgres_url``)."""
    store = _postgres_store(postgres_url) if postgres_url else _sqlite_store()
    async with store as opened, serve_app(make_app(opened, racy=racy)) as url:
        yield url
