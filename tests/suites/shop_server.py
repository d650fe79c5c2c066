"""A loopback stand-in for a third-party points shop (``scenarios/profiles/shop-example.yaml``).

The shape soakmon did not grow up with: every answer is HTTP 200 ``{"code", "message",
"data"}`` (errors are non-zero codes), no admin endpoints (no way to add points, grant items or
transfer), points come only from the welcome gift and task completions, tasks carry no owner id
and no version, every Top3 refusal says the same "operation failed", rewards are *bought* with
points, and there is no ``/metrics``.

``racy=True`` serves the same API with the three races such services really have, as
read-then-write with an ``await`` between (real async interleaving under concurrent requests):
Top3 on several dates overspends the balance, buying rewards overspends it, and a task completed
concurrently pays its bonus more than once. ``racy=False`` does each check and write without
yielding (atomic on one event loop).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.engine.servers import serve_app

GIFT_POINTS = 500
GIFT_ITEMS = {"coupon": 1}
COMPLETION_BONUS = 100
TOP3_PRICE = 300
PRICES = {"coupon": 200, "sticker": 50}
RACE_WINDOW_S = 0.005
"""How long a racy handler waits between its read and its write (other requests run)."""

OK, UNAUTHORIZED, FAILED, NO_POINTS, RECEIVED, NO_ITEM, NOT_FOUND, DONE = (
    0, 10001, 10002, 10003, 10004, 10005, 10006, 10007,
)  # fmt: skip


@dataclass
class User:
    uid: str
    name: str
    points: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    gift: bool = False
    bag: dict[str, int] = field(default_factory=dict)
    todos: dict[str, dict[str, Any]] = field(default_factory=dict)
    focus: dict[str, list[str]] = field(default_factory=dict)

    def change(self, delta: int, reason: str) -> None:
        self.points += delta
        now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
        self.history.append({"delta": delta, "reason": reason, "at": now})


@dataclass
class Shop:
    racy: bool
    tokens: dict[str, User] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)

    async def window(self) -> None:
        if self.racy:
            await asyncio.sleep(RACE_WINDOW_S)


SHOP = web.AppKey("shop", Shop)


def reply(code: int = OK, data: Any = None, message: str = "success") -> web.Response:
    return web.json_response({"code": code, "message": message, "data": data})


def _user(request: web.Request) -> User | None:
    return request.app[SHOP].tokens.get(request.headers.get("Token", ""))


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def login(request: web.Request) -> web.Response:
    shop = request.app[SHOP]
    name = str((await _json(request)).get("name") or uuid.uuid4().hex)
    if name in shop.names:
        return reply(FAILED, None, "name taken")
    shop.names.add(name)
    user = User(uid=uuid.uuid4().hex[:12], name=name)
    token = uuid.uuid4().hex
    shop.tokens[token] = user
    return reply(data={"token": token, "uid": user.uid})


def authed(handler: Any) -> Any:
    async def wrapped(request: web.Request) -> web.Response:
        user = _user(request)
        if user is None:
            return reply(UNAUTHORIZED, None, "please log in")
        response: web.Response = await handler(request, user)
        return response

    return wrapped


@authed
async def points(request: web.Request, user: User) -> web.Response:
    return reply(data={"points": user.points})


@authed
async def history(request: web.Request, user: User) -> web.Response:
    return reply(data={"list": list(user.history)})


@authed
async def gift(request: web.Request, user: User) -> web.Response:
    if user.gift:
        return reply(RECEIVED, None, "already received")
    user.gift = True
    user.change(GIFT_POINTS, "welcome_gift")
    for sku, count in GIFT_ITEMS.items():
        user.bag[sku] = user.bag.get(sku, 0) + count
    items = [{"sku": s, "count": c} for s, c in GIFT_ITEMS.items()]
    return reply(data={"points": GIFT_POINTS, "items": items})


@authed
async def add_todo(request: web.Request, user: User) -> web.Response:
    body = await _json(request)
    todo = {"id": uuid.uuid4().hex[:16], "title": str(body.get("title", "")), "status": 0}
    user.todos[todo["id"]] = todo
    return reply(data=dict(todo))


def _todo(user: User, request: web.Request) -> dict[str, Any] | None:
    todo = user.todos.get(request.match_info["id"])
    return None if todo is None or todo["status"] == 2 else todo


@authed
async def get_todo(request: web.Request, user: User) -> web.Response:
    todo = _todo(user, request)
    return reply(NOT_FOUND, None, "not found") if todo is None else reply(data=dict(todo))


@authed
async def list_todos(request: web.Request, user: User) -> web.Response:
    todos = [dict(t) for t in user.todos.values() if t["status"] != 2]
    return reply(data={"list": todos})


@authed
async def rename_todo(request: web.Request, user: User) -> web.Response:
    todo = _todo(user, request)
    if todo is None:
        return reply(NOT_FOUND, None, "not found")
    todo["title"] = str((await _json(request)).get("title", todo["title"]))
    return reply(data=dict(todo))


@authed
async def finish_todo(request: web.Request, user: User) -> web.Response:
    shop = request.app[SHOP]
    todo = _todo(user, request)
    if todo is None:
        return reply(NOT_FOUND, None, "not found")
    if todo["status"] == 1:
        return reply(DONE, None, "already finished")
    await shop.window()  # racy: another completion of the same task passes the check too
    todo["status"] = 1
    user.change(COMPLETION_BONUS, "task_bonus")
    return reply(data=dict(todo))


@authed
async def remove_todo(request: web.Request, user: User) -> web.Response:
    todo = _todo(user, request)
    if todo is None:
        return reply(NOT_FOUND, None, "not found")
    todo["status"] = 2
    return reply(data=dict(todo))


@authed
async def set_focus(request: web.Request, user: User) -> web.Response:
    shop = request.app[SHOP]
    body = await _json(request)
    day, ids = str(body.get("date", "")), body.get("ids")
    if not isinstance(ids, list) or any(i not in user.todos for i in ids):
        return reply(FAILED, None, "operation failed")
    if day in user.focus or user.points < TOP3_PRICE:
        return reply(FAILED, None, "operation failed")  # one message for every refusal
    user.focus[day] = []  # the date is taken at once (that guard is right)
    await shop.window()  # racy: the balance was read before other requests spent it
    user.change(-TOP3_PRICE, "top3")
    user.focus[day] = list(ids)
    return reply(data={"date": day, "ids": list(ids)})


@authed
async def get_focus(request: web.Request, user: User) -> web.Response:
    day = request.query.get("date", "")
    return reply(data={"date": day, "ids": list(user.focus.get(day, []))})


@authed
async def buy(request: web.Request, user: User) -> web.Response:
    shop = request.app[SHOP]
    sku = str((await _json(request)).get("sku", ""))
    if sku not in PRICES:
        return reply(NOT_FOUND, None, "no such item")
    if user.points < PRICES[sku]:
        return reply(NO_POINTS, None, "insufficient points")
    await shop.window()  # racy: check-then-act on the balance
    user.change(-PRICES[sku], "shop_buy")
    user.bag[sku] = user.bag.get(sku, 0) + 1
    return reply(data={"sku": sku, "count": user.bag[sku]})


@authed
async def bag(request: web.Request, user: User) -> web.Response:
    return reply(data={"list": [{"sku": s, "count": c} for s, c in sorted(user.bag.items())]})


@authed
async def use(request: web.Request, user: User) -> web.Response:
    sku = str((await _json(request)).get("sku", ""))
    if user.bag.get(sku, 0) < 1:
        return reply(NO_ITEM, None, "item not enough")
    user.bag[sku] -= 1
    return reply(data={"sku": sku, "remaining": user.bag[sku]})


def make_app(*, racy: bool = False) -> web.Application:
    app = web.Application()
    app[SHOP] = Shop(racy=racy)
    r = app.router
    r.add_post("/api/login", login)
    r.add_get("/api/points", points)
    r.add_get("/api/points/history", history)
    r.add_post("/api/gift", gift)
    r.add_post("/api/todo", add_todo)
    r.add_get("/api/todo", list_todos)
    r.add_get("/api/todo/{id}", get_todo)
    r.add_post("/api/todo/{id}/rename", rename_todo)
    r.add_post("/api/todo/{id}/finish", finish_todo)
    r.add_post("/api/todo/{id}/remove", remove_todo)
    r.add_post("/api/focus", set_focus)
    r.add_get("/api/focus", get_focus)
    r.add_post("/api/shop/buy", buy)
    r.add_get("/api/bag", bag)
    r.add_post("/api/bag/use", use)
    return app


@asynccontextmanager
async def shop_server(*, racy: bool = False) -> AsyncIterator[str]:
    """Serve the shop on a free loopback port; yields its base URL."""
    async with serve_app(make_app(racy=racy)) as url:
        yield url
