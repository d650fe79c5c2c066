"""A fast in-memory implementation of the part of the reference API the load suite uses.

    .venv/bin/python -m bench.fast_target --port 8765

Not the reference target: no database, answers in well under a millisecond, so a sustained
load reaches 1,000+ requests/s and the monitor's own memory and check evaluation are what is
measured. Serves register, balance, add, tasks create/get/list and ``/metrics`` (process memory
and constant pool gauges under a prefix of its own, mapped by ``bench/fast_target.profile.yaml``).
"""

from __future__ import annotations

import argparse
import uuid
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge, ProcessCollector, generate_latest

USERS: web.AppKey[dict[str, dict[str, Any]]] = web.AppKey("users", dict)
METRICS: web.AppKey[CollectorRegistry] = web.AppKey("metrics", CollectorRegistry)


def _user(request: web.Request) -> dict[str, Any]:
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    user = request.app[USERS].get(token)
    if user is None:
        raise web.HTTPUnauthorized(
            text='{"error": "unauthorized"}', content_type="application/json"
        )
    return user


async def register(request: web.Request) -> web.Response:
    body = await request.json()
    token = uuid.uuid4().hex
    user = {"id": uuid.uuid4().hex, "name": body["username"], "balance": 0, "tx": 0, "tasks": {}}
    request.app[USERS][token] = user
    return web.json_response({"token": token, "user_id": user["id"]}, status=201)


async def balance(request: web.Request) -> web.Response:
    user = _user(request)
    return web.json_response({"balance": user["balance"], "transaction_count": user["tx"]})


async def add(request: web.Request) -> web.Response:
    user = _user(request)
    body = await request.json()
    user["balance"] += int(body["amount"])
    user["tx"] += 1
    return web.json_response({"balance": user["balance"]})


async def create_task(request: web.Request) -> web.Response:
    user = _user(request)
    body = await request.json()
    task = {"id": uuid.uuid4().hex, "title": body.get("title", ""), "version": 1}
    task["user_id"] = user["id"]
    user["tasks"][task["id"]] = task
    return web.json_response(task, status=201)


async def get_task(request: web.Request) -> web.Response:
    task = _user(request)["tasks"].get(request.match_info["task_id"])
    if task is None:
        return web.json_response({"error": "not_found"}, status=404)
    return web.json_response(task)


async def list_tasks(request: web.Request) -> web.Response:
    return web.json_response({"items": list(_user(request)["tasks"].values())})


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=generate_latest(request.app[METRICS]), content_type="text/plain")


def make_app() -> web.Application:
    app = web.Application()
    app[USERS] = {}
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    for name, value in (("size", 10), ("in_use", 0), ("waiting", 0)):
        Gauge(f"fast_pool_{name}", f"pool {name}", registry=registry).set(value)
    app[METRICS] = registry
    app.router.add_post("/auth/register", register)
    app.router.add_get("/points/my-points", balance)
    app.router.add_post("/points/add", add)
    app.router.add_post("/tasks", create_task)
    app.router.add_get("/tasks", list_tasks)
    app.router.add_get("/tasks/{task_id}", get_task)
    app.router.add_get("/metrics", metrics)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fast_target", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(make_app(), host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
