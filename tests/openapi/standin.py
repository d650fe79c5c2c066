"""Shared plumbing of the OpenAPI stand-ins: a real SQLite database through aiosqlite, the four
ways a service declares its session (bearer, ``Token`` prefix, API-key header, cookie) and the
OpenAPI ``securitySchemes`` entry of each.

The races of the ``defects=True`` variants are natural: a read and a write are separate awaits
on the database (other requests' statements run in between); nothing sleeps to widen them.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import Awaitable, Callable
from typing import Any

import aiosqlite
from aiohttp import web

AUTH_MODES = ("bearer", "token", "apikey", "cookie")
POOL_SIZE = 8
"""Connections of the pool: concurrent requests run their statements on different connections
(threads), as a service with a database connection pool does."""


class Pool:
    """A small pool of aiosqlite connections to one database file (WAL, autocommit)."""

    def __init__(self, path: str, schema: str) -> None:
        self.path, self.schema = path, schema
        self.free: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self.all: list[aiosqlite.Connection] = []

    async def open(self) -> None:
        for i in range(POOL_SIZE):
            conn = await aiosqlite.connect(self.path, isolation_level=None)
            await conn.execute("PRAGMA busy_timeout = 10000")
            if i == 0:
                await conn.execute("PRAGMA journal_mode = WAL")
                await conn.executescript(
                    self.schema
                    + "\nCREATE TABLE tokens (token TEXT PRIMARY KEY, account_id INTEGER NOT NULL);"
                )
            self.all.append(conn)
            self.free.put_nowait(conn)

    async def close(self) -> None:
        for conn in self.all:
            await conn.close()


DB = web.AppKey("db", Pool)
CONN = web.RequestKey("conn", aiosqlite.Connection)


@web.middleware
async def with_connection(request: web.Request, handler: Any) -> web.StreamResponse:
    """Each request holds one pooled connection while it runs."""
    pool = request.app[DB]
    conn = await pool.free.get()
    request[CONN] = conn
    try:
        response: web.StreamResponse = await handler(request)
        return response
    finally:
        pool.free.put_nowait(conn)


def db(request: web.Request) -> aiosqlite.Connection:
    """The request's database connection."""
    conn: aiosqlite.Connection = request[CONN]
    return conn


DEFECTS = web.AppKey("defects", bool)
AUTH = web.AppKey("auth", str)
Handler = Callable[[web.Request, int], Awaitable[web.StreamResponse]]


def security_scheme(mode: str) -> dict[str, Any]:
    """The ``components.securitySchemes`` entry of an auth mode."""
    return {
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "opaque"},
        "token": {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Prefix the token with 'Token ', e.g. Token xxxxx",
        },
        "apikey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
        "cookie": {"type": "apiKey", "in": "cookie", "name": "sid"},
    }[mode]


def presented_token(request: web.Request) -> str | None:
    mode = request.app[AUTH]
    if mode == "cookie":
        return request.cookies.get("sid")
    if mode == "apikey":
        return request.headers.get("X-Api-Key")
    prefix = "Bearer " if mode == "bearer" else "Token "
    value = request.headers.get("Authorization", "")
    return value[len(prefix) :] if value.startswith(prefix) else None


def authed(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        token = presented_token(request)
        row = None
        if token:
            async with db(request).execute(
                "SELECT account_id FROM tokens WHERE token = ?", (token,)
            ) as cur:
                row = await cur.fetchone()
        if row is None:
            return error(401, "unauthorized")
        return await handler(request, int(row[0]))

    return wrapped


def error(status: int, code: str) -> web.Response:
    return web.json_response({"error": code, "message": code.replace("_", " ")}, status=status)


async def new_token(db: aiosqlite.Connection, account_id: int) -> str:
    token = secrets.token_hex(16)
    await db.execute("INSERT INTO tokens (token, account_id) VALUES (?, ?)", (token, account_id))
    return token


def session_answer(
    request: web.Request, body: dict[str, Any], token: str, status: int
) -> web.Response:
    """The answer that opens a session: the token in the body, or the ``sid`` cookie."""
    response = web.json_response(body, status=status)
    if request.app[AUTH] == "cookie":
        response.set_cookie("sid", token, httponly=True)
    return response


async def open_db(app: web.Application, schema: str) -> None:
    """A fresh database file (removed on cleanup) behind a connection pool."""
    folder = tempfile.mkdtemp(prefix="soakmon-standin-")
    pool = Pool(os.path.join(folder, "db.sqlite"), schema)
    await pool.open()
    app[DB] = pool
    app.middlewares.append(with_connection)

    async def close(app: web.Application) -> None:
        await pool.close()
        shutil.rmtree(folder, ignore_errors=True)

    app.on_cleanup.append(close)


IntegrityError = sqlite3.IntegrityError


async def standin_app(
    schema: str,
    document_path: str,
    document: dict[str, Any],
    *,
    defects: bool,
    auth: str | None = None,
) -> web.Application:
    """A stand-in's app: its database open (closed on cleanup), :data:`DEFECTS` and
    :data:`AUTH` set, its OpenAPI ``document`` served at ``document_path``."""
    app = web.Application()
    await open_db(app, schema)
    app[DEFECTS] = defects
    if auth is not None:
        app[AUTH] = auth

    async def serve_document(request: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get(document_path, serve_document)
    return app


async def json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPUnprocessableEntity(text='{"error": "invalid_request"}') from None
    if not isinstance(body, dict):
        raise web.HTTPUnprocessableEntity(text='{"error": "invalid_request"}')
    return body


def error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    }


OPEN = ("/openapi.json", "/users", "/users/login", "/accounts", "/login")
"""What ``refuse_everything`` lets through: the document, sign-up and login."""


def refuse_everything(target: web.Application) -> web.Application:
    """The stand-in behind a gate that refuses every request but the document, sign-up and
    login, cycling through 401, 403, 404 and 422 (a permission layer gone wrong)."""
    codes = itertools.cycle((401, 403, 404, 422))

    @web.middleware
    async def gate(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.endswith(OPEN):
            response: web.StreamResponse = await handler(request)
            return response
        # Reads the body first: answering before it, aiohttp's server lingers up to 10 s
        # (lingering_time) on the unread body, and its handler tasks would outlive the test
        # (soakmon's client sockets are closed: checked, tasks gone after 10.5 s).
        await request.read()
        status = next(codes)
        return web.json_response({"error": f"refused_{status}", "message": "no"}, status=status)

    target.middlewares.insert(0, gate)
    return target
