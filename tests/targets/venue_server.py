"""A small venue-booking API on a real SQL database (SQLite), written to try soakmon as a new user.

Its domain is not soakmon's: a *wallet* of credits, *passes* for events (bought with credits,
scanned at the door), *bookings* (opened, attended, cancelled; attending pays loyalty credits),
a *spotlight* of up to three bookings per date (it costs credits) and a one-time *welcome pack*
(credits and two passes of each of two events). Its shape is not soakmon's either:

- errors are RFC 7807 ``application/problem+json`` (``{"type": "/problems/...", "title",
  "status"}``) with honest statuses (402 for a lack of credits, 409, 410, 412, 404);
- sign-up (``POST /v1/accounts``) answers an access token *and a refresh token*; requests carry
  ``Authorization: Session <access>``;
- bookings have a revision (``rev``) and optimistic updates through ``If-Match: <rev>``;
- a constraint violation the code did not expect escapes as HTTP 500 with a **plain-text
  traceback** (like a development server), never JSON.

``faults`` plants real defects (each off by default):
- ``"oversell"``: a pass purchase reads the balance, yields, then debits (read-then-write with an
  ``await`` between: concurrent purchases overspend);
- ``"double-pack"``: the welcome pack's "taken" flag is set after a yield (two claims both pay);
- ``"overscan"``: a scan checks the pass count, yields, then decrements: the table's ``CHECK
  (count >= 0)`` stops the overdraft, and the violation escapes as a plain-text 500 traceback.

Every handler runs its SQL in one transaction on one connection (the event loop serialises the
handlers, so without a planted ``await`` each handler is atomic).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from tests.engine.servers import serve_app

LOYALTY = 25  # credits an attended booking pays, once
SPOTLIGHT_PRICE = 150
PACK_CREDITS = 400
PACK_PASSES = {"front_row": 2, "backstage": 2}  # several pieces of each kind
PRICES = {"front_row": 120, "backstage": 80, "standing": 40}
WINDOW_S = 0.005

SCHEMA = """
CREATE TABLE account (id TEXT PRIMARY KEY, login TEXT NOT NULL UNIQUE, pack_taken INTEGER
    NOT NULL DEFAULT 0);
CREATE TABLE token (access TEXT PRIMARY KEY, refresh TEXT NOT NULL UNIQUE,
    account TEXT NOT NULL REFERENCES account(id));
CREATE TABLE entry (id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL,
    delta INTEGER NOT NULL, note TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE pass (account TEXT NOT NULL, event TEXT NOT NULL, count INTEGER NOT NULL
    CHECK (count >= 0), PRIMARY KEY (account, event));
CREATE TABLE booking (id TEXT PRIMARY KEY, account TEXT NOT NULL, title TEXT NOT NULL,
    notes TEXT, state TEXT NOT NULL DEFAULT 'open', rev INTEGER NOT NULL DEFAULT 1,
    attended_at TEXT, created_at TEXT NOT NULL);
CREATE TABLE spotlight (account TEXT NOT NULL, day TEXT NOT NULL, bookings TEXT NOT NULL,
    PRIMARY KEY (account, day));
"""

DB = web.AppKey("db", sqlite3.Connection)
FAULTS = web.AppKey("faults", frozenset)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def problem(status: int, kind: str, title: str) -> web.Response:
    body = {"type": f"/problems/{kind}", "title": title, "status": status}
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/problem+json"
    )


@web.middleware
async def tracebacks(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """An unexpected database error answers 500 with the traceback as plain text."""
    try:
        return await handler(request)
    except sqlite3.Error:
        request.app[DB].rollback()
        return web.Response(status=500, text=traceback.format_exc(), content_type="text/plain")


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _account(request: web.Request) -> str | None:
    scheme, _, access = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Session" or not access:
        return None
    row = (
        request.app[DB].execute("SELECT account FROM token WHERE access = ?", (access,)).fetchone()
    )
    return None if row is None else str(row[0])


Handler = Callable[[web.Request, str], Awaitable[web.Response]]


def authed(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def wrapped(request: web.Request) -> web.Response:
        account = _account(request)
        if account is None:
            return problem(401, "no-session", "sign in first")
        return await handler(request, account)

    return wrapped


def _credits(db: sqlite3.Connection, account: str) -> int:
    row = db.execute("SELECT COALESCE(SUM(delta), 0) FROM entry WHERE account = ?", (account,))
    return int(row.fetchone()[0])


def _book(db: sqlite3.Connection, account: str, delta: int, note: str) -> None:
    db.execute(
        "INSERT INTO entry (account, delta, note, at) VALUES (?, ?, ?, ?)",
        (account, delta, note, _now()),
    )


def _add_passes(db: sqlite3.Connection, account: str, event: str, count: int) -> int:
    db.execute(
        "INSERT INTO pass (account, event, count) VALUES (?, ?, ?) "
        "ON CONFLICT (account, event) DO UPDATE SET count = count + excluded.count",
        (account, event, count),
    )
    row = db.execute("SELECT count FROM pass WHERE account = ? AND event = ?", (account, event))
    return int(row.fetchone()[0])


async def _window(request: web.Request, fault: str) -> None:
    if fault in request.app[FAULTS]:
        await asyncio.sleep(WINDOW_S)


# -- accounts -----------------------------------------------------------------------------------
async def sign_up(request: web.Request) -> web.Response:
    db = request.app[DB]
    login = str((await _body(request)).get("login") or "")
    if not login:
        return problem(422, "invalid", "login is required")
    if db.execute("SELECT 1 FROM account WHERE login = ?", (login,)).fetchone():
        return problem(409, "login-taken", "that login is taken")
    account, access, refresh = uuid.uuid4().hex[:12], uuid.uuid4().hex, uuid.uuid4().hex
    with db:
        db.execute("INSERT INTO account (id, login) VALUES (?, ?)", (account, login))
        db.execute("INSERT INTO token VALUES (?, ?, ?)", (access, refresh, account))
    tokens = {"access": access, "refresh": refresh}
    return web.json_response(
        {"account": {"id": account, "login": login}, "tokens": tokens}, status=201
    )


# -- wallet -------------------------------------------------------------------------------------
@authed
async def wallet(request: web.Request, account: str) -> web.Response:
    db = request.app[DB]
    (count,) = db.execute("SELECT COUNT(*) FROM entry WHERE account = ?", (account,)).fetchone()
    return web.json_response({"credits": _credits(db, account), "entries": count})


@authed
async def entries(request: web.Request, account: str) -> web.Response:
    limit = int(request.query.get("limit", "100"))
    rows = request.app[DB].execute(
        "SELECT id, delta, note, at FROM entry WHERE account = ? ORDER BY id DESC LIMIT ?",
        (account, limit),
    )
    items = [{"id": i, "delta": d, "note": n, "at": a} for i, d, n, a in rows]
    return web.json_response({"entries": items})


def _amount(body: dict[str, Any]) -> int | None:
    value = body.get("credits")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


@authed
async def top_up(request: web.Request, account: str) -> web.Response:
    db = request.app[DB]
    body = await _body(request)
    amount = _amount(body)
    if amount is None:
        return problem(422, "invalid", "credits must be a positive integer")
    with db:
        _book(db, account, amount, str(body.get("note") or "top-up"))
    return web.json_response({"credits": _credits(db, account)}, status=201)


@authed
async def charge(request: web.Request, account: str) -> web.Response:
    db = request.app[DB]
    body = await _body(request)
    amount = _amount(body)
    if amount is None:
        return problem(422, "invalid", "credits must be a positive integer")
    with db:
        if _credits(db, account) < amount:
            return problem(402, "insufficient-credits", "not enough credits")
        _book(db, account, -amount, str(body.get("note") or "charge"))
    return web.json_response({"credits": _credits(db, account)}, status=201)


@authed
async def transfer(request: web.Request, account: str) -> web.Response:
    db = request.app[DB]
    body = await _body(request)
    amount, to = _amount(body), str(body.get("to") or "")
    if amount is None or to == account:
        return problem(422, "invalid", "credits must be positive, to another account")
    if not db.execute("SELECT 1 FROM account WHERE id = ?", (to,)).fetchone():
        return problem(404, "no-such-account", "no such account")
    with db:
        if _credits(db, account) < amount:
            return problem(402, "insufficient-credits", "not enough credits")
        _book(db, account, -amount, "transfer out")
        _book(db, to, amount, "transfer in")
    return web.json_response({"credits": _credits(db, account)}, status=201)


# -- welcome pack and passes --------------------------------------------------------------------
@authed
async def welcome_pack(request: web.Request, account: str) -> web.Response:
    db = request.app[DB]
    (taken,) = db.execute("SELECT pack_taken FROM account WHERE id = ?", (account,)).fetchone()
    if taken:
        return problem(409, "pack-taken", "the welcome pack was already taken")
    await _window(request, "double-pack")
    with db:
        db.execute("UPDATE account SET pack_taken = 1 WHERE id = ?", (account,))
        _book(db, account, PACK_CREDITS, "welcome pack")
        for event, count in PACK_PASSES.items():
            _add_passes(db, account, event, count)
    passes = [{"event": e, "count": c} for e, c in PACK_PASSES.items()]
    return web.json_response({"credits": PACK_CREDITS, "passes": passes}, status=201)


@authed
async def passes(request: web.Request, account: str) -> web.Response:
    rows = request.app[DB].execute(
        "SELECT event, count FROM pass WHERE account = ? ORDER BY event", (account,)
    )
    return web.json_response({"passes": [{"event": e, "count": c} for e, c in rows]})


@authed
async def grant(request: web.Request, account: str) -> web.Response:
    db = request.app[DB]
    body = await _body(request)
    event, count = str(body.get("event") or ""), body.get("count")
    if event not in PRICES or not isinstance(count, int) or count <= 0:
        return problem(422, "invalid", "a known event and a positive count")
    with db:
        total = _add_passes(db, account, event, count)
    return web.json_response({"event": event, "count": total})


@authed
async def purchase(request: web.Request, account: str) -> web.Response:
    db = request.app[DB]
    event = str((await _body(request)).get("event") or "")
    if event not in PRICES:
        return problem(404, "no-such-event", "no such event")
    if _credits(db, account) < PRICES[event]:
        return problem(402, "insufficient-credits", "not enough credits")
    await _window(request, "oversell")  # planted: the balance read above may be stale now
    with db:
        if "oversell" not in request.app[FAULTS] and _credits(db, account) < PRICES[event]:
            return problem(402, "insufficient-credits", "not enough credits")
        _book(db, account, -PRICES[event], f"pass {event}")
        total = _add_passes(db, account, event, 1)
    return web.json_response({"event": event, "count": total}, status=201)


@authed
async def scan(request: web.Request, account: str) -> web.Response:
    db = request.app[DB]
    event = request.match_info["event"]
    row = db.execute("SELECT count FROM pass WHERE account = ? AND event = ?", (account, event))
    have = row.fetchone()
    if have is None or have[0] < 1:
        return problem(410, "no-pass-left", "no pass left for that event")
    await _window(request, "overscan")  # planted: the count read above may be stale now
    with db:
        db.execute(
            "UPDATE pass SET count = count - 1 WHERE account = ? AND event = ?", (account, event)
        )
    return web.json_response({"event": event, "left": have[0] - 1})


# -- bookings -----------------------------------------------------------------------------------
_COLUMNS = "id, title, notes, state, rev, attended_at, created_at, account"


def _booking_json(row: tuple[Any, ...]) -> dict[str, Any]:
    keys = ("id", "title", "notes", "state", "rev", "attended_at", "created_at", "owner")
    return dict(zip(keys, row, strict=True))


def _find(db: sqlite3.Connection, account: str, booking: str) -> tuple[Any, ...] | None:
    row = db.execute(
        f"SELECT {_COLUMNS} FROM booking WHERE id = ? AND account = ?",
        (booking, account),
    ).fetchone()
    return None if row is None or row[3] == "cancelled" else tuple(row)


def _reply(db: sqlite3.Connection, account: str, booking: str, status: int = 200) -> web.Response:
    row = db.execute(
        f"SELECT {_COLUMNS} FROM booking WHERE id = ? AND account = ?",
        (booking, account),
    ).fetchone()
    return web.json_response({"booking": _booking_json(tuple(row))}, status=status)


@authed
async def open_booking(request: web.Request, account: str) -> web.Response:
    db = request.app[DB]
    body = await _body(request)
    booking = uuid.uuid4().hex[:10]
    with db:
        db.execute(
            "INSERT INTO booking (id, account, title, notes, created_at) VALUES (?, ?, ?, ?, ?)",
            (booking, account, str(body.get("title") or ""), body.get("notes"), _now()),
        )
    return _reply(db, account, booking, 201)


@authed
async def list_bookings(request: web.Request, account: str) -> web.Response:
    every = request.query.get("include") == "cancelled"
    rows = request.app[DB].execute(
        f"SELECT {_COLUMNS} FROM booking WHERE account = ? ORDER BY created_at",
        (account,),
    )
    items = [_booking_json(tuple(r)) for r in rows if every or r[3] != "cancelled"]
    return web.json_response({"bookings": items})


@authed
async def get_booking(request: web.Request, account: str) -> web.Response:
    db = request.app[DB]
    booking = request.match_info["id"]
    if _find(db, account, booking) is None:
        return problem(404, "no-such-booking", "no such booking")
    return _reply(db, account, booking)


@authed
async def edit_booking(request: web.Request, account: str) -> web.Response:
    db = request.app[DB]
    booking = request.match_info["id"]
    body = await _body(request)  # read first: no await between the revision check and the write
    row = _find(db, account, booking)
    if row is None:
        return problem(404, "no-such-booking", "no such booking")
    want = request.headers.get("If-Match")
    if want is not None and want.strip('"') != str(row[4]):
        return problem(412, "stale-revision", "the booking changed since that revision")
    with db:
        db.execute(
            "UPDATE booking SET title = ?, notes = ?, rev = rev + 1 WHERE id = ?",
            (str(body.get("title") or row[1]), body.get("notes", row[2]), booking),
        )
    return _reply(db, account, booking)


@authed
async def attend(request: web.Request, account: str) -> web.Response:
    db = request.app[DB]
    booking = request.match_info["id"]
    row = _find(db, account, booking)
    if row is None:
        return problem(404, "no-such-booking", "no such booking")
    if row[3] == "open":
        with db:
            db.execute(
                "UPDATE booking SET state = 'attended', attended_at = ?, rev = rev + 1 "
                "WHERE id = ?",
                (_now(), booking),
            )
            _book(db, account, LOYALTY, "loyalty")
    return _reply(db, account, booking)


@authed
async def cancel(request: web.Request, account: str) -> web.Response:
    db = request.app[DB]
    booking = request.match_info["id"]
    if _find(db, account, booking) is None:
        return problem(404, "no-such-booking", "no such booking")
    with db:
        db.execute("UPDATE booking SET state = 'cancelled', rev = rev + 1 WHERE id = ?", (booking,))
    return _reply(db, account, booking)


# -- spotlight ----------------------------------------------------------------------------------
@authed
async def put_spotlight(request: web.Request, account: str) -> web.Response:
    db = request.app[DB]
    day = request.match_info["day"]
    chosen = (await _body(request)).get("bookings")
    if not isinstance(chosen, list) or not 1 <= len(chosen) <= 3:
        return problem(422, "invalid", "one to three bookings")
    if any(_find(db, account, str(b)) is None for b in chosen):
        return problem(404, "no-such-booking", "no such booking")
    if db.execute(
        "SELECT 1 FROM spotlight WHERE account = ? AND day = ?", (account, day)
    ).fetchone():
        return problem(409, "spotlight-taken", "that date already has its spotlight")
    with db:
        if _credits(db, account) < SPOTLIGHT_PRICE:
            return problem(402, "insufficient-credits", "not enough credits")
        _book(db, account, -SPOTLIGHT_PRICE, "spotlight")
        db.execute("INSERT INTO spotlight VALUES (?, ?, ?)", (account, day, json.dumps(chosen)))
    return web.json_response({"date": day, "bookings": chosen}, status=201)


@authed
async def get_spotlight(request: web.Request, account: str) -> web.Response:
    day = request.match_info["day"]
    row = (
        request.app[DB]
        .execute("SELECT bookings FROM spotlight WHERE account = ? AND day = ?", (account, day))
        .fetchone()
    )
    return web.json_response({"date": day, "bookings": json.loads(row[0]) if row else []})


def make_app(path: str = ":memory:", faults: Collection[str] = ()) -> web.Application:
    """The venue API on a SQLite database at ``path``, with the planted ``faults``."""
    app = web.Application(middlewares=[tracebacks])
    app[FAULTS] = frozenset(faults)

    async def database(app: web.Application) -> AsyncIterator[None]:
        db = sqlite3.connect(path, isolation_level="DEFERRED")
        db.executescript(SCHEMA)
        app[DB] = db
        yield
        db.close()

    app.cleanup_ctx.append(database)
    r = app.router
    r.add_post("/v1/accounts", sign_up)
    r.add_get("/v1/wallet", wallet)
    r.add_get("/v1/wallet/entries", entries)
    r.add_post("/v1/wallet/topups", top_up)
    r.add_post("/v1/wallet/charges", charge)
    r.add_post("/v1/wallet/transfers", transfer)
    r.add_post("/v1/welcome-pack", welcome_pack)
    r.add_get("/v1/passes", passes)
    r.add_post("/v1/passes/grants", grant)
    r.add_post("/v1/passes/purchases", purchase)
    r.add_post("/v1/passes/{event}/scan", scan)
    r.add_post("/v1/bookings", open_booking)
    r.add_get("/v1/bookings", list_bookings)
    r.add_get("/v1/bookings/{id}", get_booking)
    r.add_patch("/v1/bookings/{id}", edit_booking)
    r.add_post("/v1/bookings/{id}/attend", attend)
    r.add_delete("/v1/bookings/{id}", cancel)
    r.add_put("/v1/spotlight/{day}", put_spotlight)
    r.add_get("/v1/spotlight/{day}", get_spotlight)
    return app


@asynccontextmanager
async def venue_server(path: str = ":memory:", faults: Collection[str] = ()) -> AsyncIterator[str]:
    """Serve the venue API on a free loopback port; yields its base URL."""
    async with serve_app(make_app(path, faults)) as url:
        yield url


def main() -> None:
    """``python -m tests.targets.venue_server [--port N] [--fault NAME ...]`` (loopback only)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8020)
    parser.add_argument("--db", default=":memory:")
    parser.add_argument(
        "--fault", action="append", default=[], choices=["oversell", "double-pack", "overscan"]
    )
    ns = parser.parse_args()
    web.run_app(make_app(ns.db, ns.fault), host="127.0.0.1", port=ns.port)


if __name__ == "__main__":
    main()
