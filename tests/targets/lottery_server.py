"""A loopback stand-in for a "lucky tasks" app: completing a task pays a *random* bonus.

Its domain rules are ones soakmon's built-in suites did not assume:

- completing a task pays a bonus drawn uniformly from ``BONUS_RANGE`` (a lottery), once per task;
- the welcome gift is coins plus *several pieces of each kind* (``GIFT_ITEMS``).

Its shape: camelCase JSON under ``/api/lucky``, ``Authorization: Bearer``, errors as HTTP 4xx with
``{"errorCode": "NOT_ENOUGH_COINS", "errorMessage": ...}``; tasks have ``done``/``doneAt`` and a
``gone`` flag; a Top3 (``/focus/{date}``) costs coins.

``double_payout=True`` plants the defect the random bonus could hide: a completion reads the
task, yields, then marks it done and pays, so concurrent completions of one task each pay a
(random) bonus. In-memory state; every handler is atomic unless it yields on purpose.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.engine.servers import serve_app

BONUS_RANGE = (10, 50)
GIFT_COINS = 300
GIFT_ITEMS = {"time_freeze": 2, "points_boost": 3}
FOCUS_PRICE = 120
WINDOW_S = 0.005


@dataclass
class Player:
    id: str
    coins: int = 0
    ledger: list[dict[str, Any]] = field(default_factory=list)
    gift: bool = False
    items: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    focus: dict[str, list[str]] = field(default_factory=dict)

    def pay(self, amount: int, why: str) -> None:
        self.coins += amount
        at = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
        self.ledger.append({"entryId": len(self.ledger) + 1, "coins": amount, "why": why, "at": at})


@dataclass
class Lottery:
    double_payout: bool
    gift_coins: int
    rng: random.Random
    players: dict[str, Player] = field(default_factory=dict)  # token -> player


LOTTERY = web.AppKey("lottery", Lottery)


def fail(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"errorCode": code, "errorMessage": message}, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


Handler = Callable[[web.Request, Player], Awaitable[web.Response]]


def authed(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def wrapped(request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        player = request.app[LOTTERY].players.get(token)
        if player is None:
            return fail(401, "NO_SESSION", "log in first")
        return await handler(request, player)

    return wrapped


async def join(request: web.Request) -> web.Response:
    token = uuid.uuid4().hex
    player = Player(id=uuid.uuid4().hex[:10])
    request.app[LOTTERY].players[token] = player
    return web.json_response({"playerId": player.id, "accessToken": token}, status=201)


@authed
async def wallet(request: web.Request, player: Player) -> web.Response:
    return web.json_response({"coins": player.coins, "entryCount": len(player.ledger)})


@authed
async def ledger(request: web.Request, player: Player) -> web.Response:
    return web.json_response({"entries": list(reversed(player.ledger))})


@authed
async def gift(request: web.Request, player: Player) -> web.Response:
    if player.gift:
        return fail(409, "GIFT_TAKEN", "the gift was taken")
    player.gift = True
    coins = request.app[LOTTERY].gift_coins
    player.pay(coins, "welcomeGift")
    for kind, count in GIFT_ITEMS.items():
        player.items[kind] = player.items.get(kind, 0) + count
    pieces = [{"kind": k, "pieces": c} for k, c in GIFT_ITEMS.items()]
    return web.json_response({"coins": coins, "pieces": pieces}, status=201)


@authed
async def items(request: web.Request, player: Player) -> web.Response:
    return web.json_response({"items": [{"kind": k, "pieces": c} for k, c in player.items.items()]})


@authed
async def use_item(request: web.Request, player: Player) -> web.Response:
    kind = request.match_info["kind"]
    if player.items.get(kind, 0) < 1:
        return fail(409, "NO_PIECES", "none left")
    player.items[kind] -= 1
    return web.json_response({"kind": kind, "left": player.items[kind]})


@authed
async def new_task(request: web.Request, player: Player) -> web.Response:
    body = await _body(request)
    task = {"taskId": uuid.uuid4().hex[:8], "name": str(body.get("name", "")), "done": False,
            "doneAt": None, "gone": False}  # fmt: skip
    player.tasks[task["taskId"]] = task
    return web.json_response(dict(task), status=201)


def _task(player: Player, request: web.Request) -> dict[str, Any] | None:
    task = player.tasks.get(request.match_info["id"])
    return None if task is None or task["gone"] else task


@authed
async def get_task(request: web.Request, player: Player) -> web.Response:
    task = _task(player, request)
    return fail(404, "NO_TASK", "no such task") if task is None else web.json_response(dict(task))


@authed
async def list_tasks(request: web.Request, player: Player) -> web.Response:
    every = request.query.get("withGone") == "true"
    rows = [dict(t) for t in player.tasks.values() if every or not t["gone"]]
    return web.json_response({"tasks": rows})


@authed
async def finish(request: web.Request, player: Player) -> web.Response:
    lottery = request.app[LOTTERY]
    task = _task(player, request)
    if task is None:
        return fail(404, "NO_TASK", "no such task")
    if not task["done"]:
        if lottery.double_payout:
            await asyncio.sleep(WINDOW_S)  # planted: another completion passes the check too
        task["done"] = True
        task["doneAt"] = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
        player.pay(lottery.rng.randint(*BONUS_RANGE), "luckyBonus")
    return web.json_response(dict(task))


@authed
async def drop(request: web.Request, player: Player) -> web.Response:
    task = _task(player, request)
    if task is None:
        return fail(404, "NO_TASK", "no such task")
    task["gone"] = True
    return web.json_response(dict(task))


@authed
async def set_focus(request: web.Request, player: Player) -> web.Response:
    day = request.match_info["day"]
    ids = (await _body(request)).get("taskIds")
    if not isinstance(ids, list) or any(i not in player.tasks for i in ids):
        return fail(422, "BAD_TASKS", "unknown tasks")
    if day in player.focus:
        return fail(409, "FOCUS_SET", "already chosen")
    if player.coins < FOCUS_PRICE:
        return fail(409, "NOT_ENOUGH_COINS", "not enough coins")
    player.pay(-FOCUS_PRICE, "focus")
    player.focus[day] = list(ids)
    return web.json_response({"day": day, "taskIds": list(ids)}, status=201)


@authed
async def get_focus(request: web.Request, player: Player) -> web.Response:
    day = request.match_info["day"]
    return web.json_response({"day": day, "taskIds": list(player.focus.get(day, []))})


def make_app(
    *, double_payout: bool = False, seed: int | None = None, gift_coins: int = GIFT_COINS
) -> web.Application:
    app = web.Application()
    app[LOTTERY] = Lottery(double_payout, gift_coins, random.Random(seed))
    r = app.router
    r.add_post("/api/lucky/players", join)
    r.add_get("/api/lucky/wallet", wallet)
    r.add_get("/api/lucky/wallet/entries", ledger)
    r.add_post("/api/lucky/gift", gift)
    r.add_get("/api/lucky/items", items)
    r.add_post("/api/lucky/items/{kind}/use", use_item)
    r.add_post("/api/lucky/tasks", new_task)
    r.add_get("/api/lucky/tasks", list_tasks)
    r.add_get("/api/lucky/tasks/{id}", get_task)
    r.add_post("/api/lucky/tasks/{id}/finish", finish)
    r.add_delete("/api/lucky/tasks/{id}", drop)
    r.add_put("/api/lucky/focus/{day}", set_focus)
    r.add_get("/api/lucky/focus/{day}", get_focus)
    return app


@asynccontextmanager
async def lottery_server(
    *, double_payout: bool = False, seed: int | None = None, gift_coins: int = GIFT_COINS
) -> AsyncIterator[str]:
    """Serve the lucky-tasks API on a free loopback port; yields its base URL."""
    async with serve_app(
        make_app(double_payout=double_payout, seed=seed, gift_coins=gift_coins)
    ) as url:
        yield url
