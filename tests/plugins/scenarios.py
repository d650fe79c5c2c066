"""Concurrency scenarios against a live reference target, each returning the violations it saw.

Every scenario sets up fresh users, fires its requests truly at once (one connection each, see
``concurrently``) and checks the guarantees of reference-api.md. A violation is ``"<tag>: text"``;
the tag names the guarantee (``statuses``, ``balance``, ``ledger``, ``items``, ``snapshot``,
``partial``, ``tasks``). The contract tests expect no violations; the fault tests run the same
scenario against a deliberately broken server and expect the matching tag.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.plugins.api import Client, Response, concurrently, register

Violations = list[str]


@dataclass(frozen=True)
class Scenario:
    name: str
    run: Callable[[aiohttp.ClientSession, str], Awaitable[Violations]]


def _count(responses: list[Response]) -> Counter[tuple[int, str | None]]:
    def key(r: Response) -> tuple[int, str | None]:
        return (r.status, r.body.get("error") if isinstance(r.body, dict) else None)

    return Counter(key(r) for r in responses)


def _expect_statuses(
    got: list[Response], want: Counter[tuple[int, str | None]], out: Violations
) -> None:
    seen = _count(got)
    if seen != want:
        out.append(f"statuses: expected {dict(want)}, got {dict(seen)}")


async def _ledger_vs_balance(client: Client, out: Violations) -> tuple[int, list[dict[str, Any]]]:
    balance = await client.balance()
    ledger = await client.ledger()
    total = sum(row["amount"] for row in ledger)
    if total != balance:
        out.append(f"ledger: balance {balance} != ledger sum {total} ({len(ledger)} rows)")
    if balance < 0:
        out.append(f"balance: negative balance {balance}")
    return balance, ledger


async def deduct_storm(
    http: aiohttp.ClientSession, base: str, n: int, start: int = 3000, amount: int = 300
) -> Violations:
    out: Violations = []
    alice = await register(http, base)
    await alice.fund(start)
    fits = min(n, start // amount)
    got = await concurrently(
        n, base, alice.token, lambda c, _: c.post("/points/deduct", {"amount": amount})
    )
    want: Counter[tuple[int, str | None]] = Counter({(200, None): fits})
    if n > fits:
        want[(409, "insufficient_points")] = n - fits
    _expect_statuses(got, want, out)
    balance, ledger = await _ledger_vs_balance(alice, out)
    if balance != start - fits * amount:
        out.append(f"balance: expected {start - fits * amount}, got {balance}")
    deductions = sum(1 for row in ledger if row["amount"] == -amount)
    if deductions != fits:
        out.append(f"ledger: expected {fits} deduction rows, got {deductions}")
    return out


async def add_storm(http: aiohttp.ClientSession, base: str, n: int = 10) -> Violations:
    out: Violations = []
    alice = await register(http, base)
    await alice.fund(1000)
    got = await concurrently(
        n, base, alice.token, lambda c, _: c.post("/points/add", {"amount": 100})
    )
    _expect_statuses(got, Counter({(200, None): n}), out)
    balance, ledger = await _ledger_vs_balance(alice, out)
    if balance != 1000 + 100 * n:
        out.append(f"balance: expected {1000 + 100 * n}, got {balance}")
    if len(ledger) != n + 1:
        out.append(f"ledger: expected {n + 1} rows, got {len(ledger)}")
    return out


async def mixed_add_deduct(http: aiohttp.ClientSession, base: str) -> Violations:
    out: Violations = []
    alice = await register(http, base)
    await alice.fund(2000)

    def op(c: Client, i: int) -> Awaitable[Response]:
        return c.post("/points/add" if i % 2 else "/points/deduct", {"amount": 100})

    got = await concurrently(10, base, alice.token, op)
    _expect_statuses(got, Counter({(200, None): 10}), out)
    balance, ledger = await _ledger_vs_balance(alice, out)
    if balance != 2000:
        out.append(f"balance: expected 2000, got {balance}")
    if len(ledger) != 11:
        out.append(f"ledger: expected 11 rows, got {len(ledger)}")
    return out


async def gift_storm(http: aiohttp.ClientSession, base: str, n: int = 5) -> Violations:
    out: Violations = []
    alice = await register(http, base)
    got = await concurrently(n, base, alice.token, lambda c, _: c.post("/rewards/welcome-gift"))
    _expect_statuses(got, Counter({(201, None): 1, (409, "already_claimed"): n - 1}), out)
    balance, ledger = await _ledger_vs_balance(alice, out)
    if balance != 1000:
        out.append(f"balance: expected 1000, got {balance}")
    gifts = sum(1 for row in ledger if row["reason"] == "welcome_gift")
    if gifts != 1:
        out.append(f"ledger: expected 1 welcome_gift row, got {gifts}")
    mine = await alice.get("/rewards/my-rewards")
    held = {i["reward"]: i["quantity"] for i in mine.body["items"] if i["quantity"]}
    want = {"time_freeze": 1, "points_boost": 1, "streak_shield": 1}
    if held != want:
        out.append(f"items: expected {want}, got {held}")
    return out


async def top3_same_date(http: aiohttp.ClientSession, base: str, n: int = 3) -> Violations:
    out: Violations = []
    alice = await register(http, base)
    await alice.fund(1000)
    ids = [(await alice.new_task(f"t{i}"))["id"] for i in range(3)]
    got = await concurrently(
        n, base, alice.token, lambda c, _: c.post("/top3", {"date": "2031-07-07", "task_ids": ids})
    )
    _expect_statuses(got, Counter({(201, None): 1, (409, "already_set"): n - 1}), out)
    balance, ledger = await _ledger_vs_balance(alice, out)
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
    _expect_statuses(got, Counter({(201, None): 3}), out)
    balance, _ = await _ledger_vs_balance(alice, out)
    if balance != 0:
        out.append(f"balance: expected 0 after three Top3s, got {balance}")
    for date in dates:
        if (await alice.get("/top3", params={"date": date})).body["task_ids"] != ids:
            out.append(f"partial: no Top3 stored for {date}")
    return out


async def transfer_storm(http: aiohttp.ClientSession, base: str, n: int = 50) -> Violations:
    """n transfers at once, half A->B and half B->A: the classic lock-order deadlock."""
    out: Violations = []
    alice, bob = await register(http, base), await register(http, base)
    await alice.fund(10_000)
    await bob.fund(10_000)
    users = [alice, bob]

    def op(c: Client, i: int) -> Awaitable[Response]:
        me, other = users[i % 2], users[1 - i % 2]
        payload = {"to_user_id": other.user_id, "amount": 1 + i % 7}
        return c.as_user(me.token, me.user_id).post("/points/transfer", payload)

    got = await concurrently(n, base, None, op)
    _expect_statuses(got, Counter({(200, None): n}), out)
    a, _ = await _ledger_vs_balance(alice, out)
    b, _ = await _ledger_vs_balance(bob, out)
    if a + b != 20_000:
        out.append(f"balance: total not conserved: {a} + {b} != 20000")
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
    _expect_statuses(got, Counter({(200, None): 1, (412, "version_conflict"): 1}), out)
    final = await alice.get(f"/tasks/{task['id']}")
    if final.body["version"] != task["version"] + 1:
        out.append(f"tasks: expected version {task['version'] + 1}, got {final.body['version']}")
    return out


async def redeem_storm(http: aiohttp.ClientSession, base: str, n: int = 8) -> Violations:
    out: Violations = []
    alice = await register(http, base)
    await alice.post("/rewards/grant", {"reward": "time_freeze", "quantity": 5})
    got = await concurrently(
        n, base, alice.token, lambda c, _: c.post("/rewards/redeem", {"reward": "time_freeze"})
    )
    _expect_statuses(got, Counter({(200, None): 5, (409, "insufficient_quantity"): n - 5}), out)
    mine = await alice.get("/rewards/my-rewards")
    left = {i["reward"]: i["quantity"] for i in mine.body["items"]}.get("time_freeze", 0)
    if left != 0:
        out.append(f"items: expected 0 time_freeze left, got {left}")
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
    _expect_statuses(got, Counter({(200, None): n}), out)
    balance, ledger = await _ledger_vs_balance(alice, out)
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
    _expect_statuses(got, Counter({(201, None): n}), out)
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
    _expect_statuses(got, Counter({(200, None): 5}), out)
    listed = await alice.get("/tasks", params={"include_deleted": "true"})
    state = {t["id"]: (t["is_deleted"], t["is_completed"]) for t in listed.body["items"]}
    want = {tid: (i < 3, i >= 3) for i, tid in enumerate(ids)}
    if state != want:
        out.append(f"tasks: expected (deleted, completed) {want}, got {state}")
    return out


async def snapshot_reads(http: aiohttp.ClientSession, base: str) -> Violations:
    """Readers of my-points during a deduct storm see balance and count from one commit."""
    out: Violations = []
    alice = await register(http, base)
    await alice.fund(6000)

    async def op(c: Client, i: int) -> Response:
        if i % 2:
            return await c.post("/points/deduct", {"amount": 300})
        await asyncio.sleep(0.002 * i)
        return await c.get("/points/my-points")

    got = await concurrently(40, base, alice.token, op)
    for r in got:
        if r.status != 200:
            out.append(f"statuses: {r.status} {r.body}")
        elif "transaction_count" in r.body:
            balance, count = r.body["balance"], r.body["transaction_count"]
            if balance != 6000 - 300 * (count - 1):
                out.append(f"snapshot: balance {balance} with {count} transactions")
    await _ledger_vs_balance(alice, out)
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


async def grant_reads(http: aiohttp.ClientSession, base: str) -> Violations:
    """Readers of my-rewards never see a grant half applied (only multiples of the grant)."""
    out: Violations = []
    alice = await register(http, base)
    for _ in range(3):

        async def op(c: Client, i: int) -> Response:
            if i == 0:
                return await c.post("/rewards/grant", {"reward": "streak_shield", "quantity": 20})
            await asyncio.sleep(0.003 * i)
            return await c.get("/rewards/my-rewards")

        for r in await concurrently(15, base, alice.token, op):
            if r.status != 200:
                out.append(f"statuses: {r.status} {r.body}")
            elif "items" in r.body:
                held = {i["reward"]: i["quantity"] for i in r.body["items"]}
                if held.get("streak_shield", 0) % 20:
                    out.append(f"partial: a reader saw {held['streak_shield']} streak_shield")
    return out


async def metric_value(http: aiohttp.ClientSession, base: str, name: str, **labels: str) -> float:
    async with http.get(base + "/metrics") as resp:
        text = await resp.text()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    raise AssertionError(f"metric {name}{labels} not exposed")


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("deduct-10-fit", lambda h, b: deduct_storm(h, b, n=10)),
        Scenario("deduct-12-overflow", lambda h, b: deduct_storm(h, b, n=12)),
        Scenario("add-storm", add_storm),
        Scenario("mixed-add-deduct", mixed_add_deduct),
        Scenario("gift-storm", gift_storm),
        Scenario("top3-same-date", top3_same_date),
        Scenario("top3-different-dates", top3_different_dates),
        Scenario("transfer-storm", transfer_storm),
        Scenario("if-match-race", if_match_race),
        Scenario("redeem-storm", redeem_storm),
        Scenario("completion-bonus-race", completion_bonus_race),
        Scenario("task-create-storm", task_create_storm),
        Scenario("delete-and-complete", delete_and_complete),
        Scenario("snapshot-reads", snapshot_reads),
        Scenario("top3-reads-during-create", top3_reads_during_create),
        Scenario("grant-reads", grant_reads),
    )
}
