"""A loopback stand-in for an RPC-style API whose server errors hide in HTTP 200 envelopes.

Every call is ``POST /rpc/<method>`` with a JSON body of arguments and ``X-Session: <sid>``; every
answer is HTTP 200 ``{"code": <int>, "msg": <str>, "result": <any>}``: ``code`` 0 is success,
4xxxx a refusal, and **500 a server error** (the HTTP status is 200 all the same). No admin
methods: coins come only from finishing tasks (100 each), items only from buying them.

``lie=True`` plants what such services really do: ``task.finish`` and ``shop.buy`` *commit* and
then answer ``{"code": 500, "msg": "internal error: ..."}`` — the effect happened, the answer
says it failed. Funding (through task completions) and stocking (through purchases) must verify
by reading back; the automatic "no server errors" verdict must see the 500s in the envelopes.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.engine.servers import serve_app

BONUS = 100
PRICES = {"coupon": 200}
OK, NO_SESSION, NO_COINS, NO_ITEM, NO_TASK, SERVER = 0, 40100, 40201, 40202, 40400, 500
LIE = "internal error: NullPointerException in OrderService.notify (the order was saved)"


@dataclass
class Account:
    coins: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)
    bag: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def move(self, coins: int, memo: str) -> None:
        self.coins += coins
        self.log.append({"seq": len(self.log) + 1, "coins": coins, "memo": memo})


@dataclass
class Rpc:
    lie: bool
    sessions: dict[str, Account] = field(default_factory=dict)


RPC = web.AppKey("rpc", Rpc)


def answer(code: int = OK, result: Any = None, msg: str = "ok") -> web.Response:
    return web.json_response({"code": code, "msg": msg, "result": result})


def _signup(rpc: Rpc, args: dict[str, Any], account: Account | None) -> web.Response:
    sid = uuid.uuid4().hex
    rpc.sessions[sid] = Account()
    return answer(result={"sid": sid, "uid": sid[:8]})


def _wallet(rpc: Rpc, args: dict[str, Any], me: Account) -> web.Response:
    return answer(result={"coins": me.coins})


def _log(rpc: Rpc, args: dict[str, Any], me: Account) -> web.Response:
    return answer(result={"rows": list(me.log)})


def _task_add(rpc: Rpc, args: dict[str, Any], me: Account) -> web.Response:
    task = {"tid": uuid.uuid4().hex[:8], "label": str(args.get("label", "")), "finished": False}
    me.tasks[task["tid"]] = task
    return answer(result=dict(task))


def _task_get(rpc: Rpc, args: dict[str, Any], me: Account) -> web.Response:
    task = me.tasks.get(str(args.get("tid")))
    return answer(NO_TASK, None, "no task") if task is None else answer(result=dict(task))


def _task_list(rpc: Rpc, args: dict[str, Any], me: Account) -> web.Response:
    return answer(result={"rows": [dict(t) for t in me.tasks.values()]})


def _task_finish(rpc: Rpc, args: dict[str, Any], me: Account) -> web.Response:
    task = me.tasks.get(str(args.get("tid")))
    if task is None:
        return answer(NO_TASK, None, "no task")
    if not task["finished"]:
        task["finished"] = True
        me.move(BONUS, "task bonus")
    return answer(SERVER, None, LIE) if rpc.lie else answer(result=dict(task))


def _shop_buy(rpc: Rpc, args: dict[str, Any], me: Account) -> web.Response:
    sku = str(args.get("sku", ""))
    if sku not in PRICES:
        return answer(NO_ITEM, None, "no such item")
    if me.coins < PRICES[sku]:
        return answer(NO_COINS, None, "not enough coins")
    me.move(-PRICES[sku], f"buy {sku}")
    me.bag[sku] = me.bag.get(sku, 0) + 1
    return answer(SERVER, None, LIE) if rpc.lie else answer(result={"sku": sku, "n": me.bag[sku]})


def _bag_list(rpc: Rpc, args: dict[str, Any], me: Account) -> web.Response:
    return answer(result={"rows": [{"sku": s, "n": n} for s, n in me.bag.items()]})


def _bag_use(rpc: Rpc, args: dict[str, Any], me: Account) -> web.Response:
    sku = str(args.get("sku", ""))
    if me.bag.get(sku, 0) < 1:
        return answer(NO_ITEM, None, "item not enough")
    me.bag[sku] -= 1
    return answer(result={"sku": sku, "left": me.bag[sku]})


METHODS = {
    "wallet.get": _wallet,
    "wallet.log": _log,
    "task.add": _task_add,
    "task.get": _task_get,
    "task.list": _task_list,
    "task.finish": _task_finish,
    "shop.buy": _shop_buy,
    "bag.list": _bag_list,
    "bag.use": _bag_use,
}


async def call(request: web.Request) -> web.Response:
    rpc = request.app[RPC]
    method = request.match_info["method"]
    try:
        args = await request.json()
    except ValueError:
        args = {}
    args = args if isinstance(args, dict) else {}
    if method == "user.signup":
        return _signup(rpc, args, None)
    me = rpc.sessions.get(request.headers.get("X-Session", ""))
    if me is None:
        return answer(NO_SESSION, None, "no session")
    handler = METHODS.get(method)
    if handler is None:
        return answer(SERVER, None, f"unknown method {method}")
    return handler(rpc, args, me)


def make_app(*, lie: bool = False) -> web.Application:
    app = web.Application()
    app[RPC] = Rpc(lie=lie)
    app.router.add_post("/rpc/{method}", call)
    return app


@asynccontextmanager
async def rpc_server(*, lie: bool = False) -> AsyncIterator[str]:
    """Serve the RPC API on a free loopback port; yields its base URL."""
    async with serve_app(make_app(lie=lie)) as url:
        yield url
