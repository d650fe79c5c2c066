"""Task and Top3 scenarios: uniqueness, If-Match, completion bonus, partial reads."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable
from datetime import UTC, datetime

import aiohttp

from tests.plugins.api import Client, Response, concurrently, register
from tests.plugins.scenarios.common import Violations, expect_statuses, ledger_vs_balance


async def top3_same_date(http: aiohttp.ClientSession, base: str, n: int = 3) -> Violations:
    out: Violations = []
    alice = await register(http, base)
    await alice.fund(1000)
    ids = [(await alice.new_task(f"t{i}"))["id"] for i in range(3)]
    got = await concurrently(
        n, base, alice.token, lambda c, _: c.post("/top3", {"date": "2031-07-07", "task_ids": ids})
    )
    expect_statuses(got, Counter({(201, None): 1, (409, "already_set"): n - 1}), out)
    balance, ledger = await ledger_vs_balance(alice, out)
    if balance != 700:
        out.append(f"balance: expected 700 (one Top3 paid), got {balance}")
    paid = sum(1 for row in ledger if row["amount"] == -300)
    if paid != 1:
        out.append(f"ledger: expected 1 Top3 payment, got {paid}")
    top3 = await alice.get("/top3", params={"date": "2031-07-07"})
    if sorted(top3.body["task_ids"]) != sorted(ids):
        out.append(f"partial: Top3 holds {top3.body['task_ids']}, expected {ids}")
    return out


async def top3_different_dates(http: aiohttp.ClientSession, base: str) -> Violations:
    out: Violations = []
    alice = await register(http, base)
    await alice.fund(900)
    ids = [(await alice.new_task("t"))["id"]]
    dates = ["2031-01-01", "2031-01-02", "2031-01-03"]
    got = await concurrently(
        3, base, alice.token, lambda c, i: c.post("/top3", {"date": dates[i], "task_ids": ids})
    )
    expect_statuses(got, Counter({(201, None): 3}), out)
    balance, _ = await ledger_vs_balance(alice, out)
    if balance != 0:
        out.append(f"balance: expected 0 after three Top3s, got {balance}")
    for date in dates:
        if (await alice.get("/top3", params={"date": date})).body["task_ids"] != ids:
            out.append(f"partial: no Top3 stored for {date}")
    return out


async def top3_reads_during_create(http: aiohttp.ClientSession, base: str) -> Violations:
    """A reader never sees a partially written Top3 (retried over several dates)."""
    out: Violations = []
    alice = await register(http, base)
    await alice.fund(300 * 5)
    ids = [(await alice.new_task(f"t{i}"))["id"] for i in range(3)]
    for day in range(1, 6):
        date = f"2032-02-0{day}"

        async def op(c: Client, i: int, date: str = date) -> Response:
            if i == 0:
                return await c.post("/top3", {"date": date, "task_ids": ids})
            await asyncio.sleep(0.003 * i)
            return await c.get("/top3", params={"date": date})

        for r in await concurrently(15, base, alice.token, op):
            if r.status not in {200, 201}:
                out.append(f"statuses: {r.status} {r.body}")
            elif len(r.body["task_ids"]) not in {0, 3}:
                out.append(f"partial: a reader saw {len(r.body['task_ids'])} of 3 task ids")
    return out


async def if_match_race(http: aiohttp.ClientSession, base: str) -> Violations:
    out: Violations = []
    alice = await register(http, base)
    task = await alice.new_task("contested")
    etag = f'"{task["version"]}"'
    got = await concurrently(
        2,
        base,
        alice.token,
        lambda c, i: c.patch(
            f"/tasks/{task['id']}", {"title": f"w{i}"}, headers={"If-Match": etag}
        ),
    )
    expect_statuses(got, Counter({(200, None): 1, (412, "version_conflict"): 1}), out)
    final = await alice.get(f"/tasks/{task['id']}")
    if final.body["version"] != task["version"] + 1:
        out.append(f"tasks: expected version {task['version'] + 1}, got {final.body['version']}")
    return out


async def completion_bonus_race(http: aiohttp.ClientSession, base: str, n: int = 5) -> Violations:
    out: Violations = []
    alice = await register(http, base)
    await alice.fund(300)
    task = await alice.new_task("bonus")
    today = datetime.now(UTC).date().isoformat()
    await alice.post("/top3", {"date": today, "task_ids": [task["id"]]})
    got = await concurrently(
        n, base, alice.token, lambda c, _: c.post(f"/tasks/{task['id']}/complete")
    )
    expect_statuses(got, Counter({(200, None): n}), out)
    balance, ledger = await ledger_vs_balance(alice, out)
    bonuses = sum(1 for row in ledger if row["reason"] == "top3_completion")
    if bonuses != 1 or balance != 100:
        out.append(f"ledger: expected one 100-point bonus, got {bonuses} (balance {balance})")
    return out


async def task_create_storm(http: aiohttp.ClientSession, base: str, n: int = 10) -> Violations:
    out: Violations = []
    alice = await register(http, base)
    got = await concurrently(
        n, base, alice.token, lambda c, i: c.post("/tasks", {"title": f"t{i}"})
    )
    expect_statuses(got, Counter({(201, None): n}), out)
    listed = (await alice.get("/tasks")).body["items"]
    ids = {t["id"] for t in listed}
    titles = {t["title"] for t in listed}
    if len(ids) != n or titles != {f"t{i}" for i in range(n)}:
        out.append(f"tasks: expected {n} distinct tasks, got {len(ids)} ids / {len(titles)} titles")
    if any(t["user_id"] != alice.user_id for t in listed):
        out.append("tasks: a task belongs to another user")
    return out


async def delete_and_complete(http: aiohttp.ClientSession, base: str) -> Violations:
    """5 tasks: 3 deleted and 2 completed at once; every request succeeds on its own task."""
    out: Violations = []
    alice = await register(http, base)
    ids = [(await alice.new_task(f"t{i}"))["id"] for i in range(5)]

    def op(c: Client, i: int) -> Awaitable[Response]:
        if i < 3:
            return c.delete(f"/tasks/{ids[i]}")
        return c.post(f"/tasks/{ids[i]}/complete")

    got = await concurrently(5, base, alice.token, op)
    expect_statuses(got, Counter({(200, None): 5}), out)
    listed = await alice.get("/tasks", params={"include_deleted": "true"})
    state = {t["id"]: (t["is_deleted"], t["is_completed"]) for t in listed.body["items"]}
    want = {tid: (i < 3, i >= 3) for i, tid in enumerate(ids)}
    if state != want:
        out.append(f"tasks: expected (deleted, completed) {want}, got {state}")
    return out
