"""Points scenarios: deduct / add storms, opposite transfers, snapshot reads."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable

import aiohttp

from tests.plugins.api import Client, Response, concurrently, register
from tests.plugins.scenarios.common import Violations, expect_statuses, ledger_vs_balance


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
    expect_statuses(got, want, out)
    balance, ledger = await ledger_vs_balance(alice, out)
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
    expect_statuses(got, Counter({(200, None): n}), out)
    balance, ledger = await ledger_vs_balance(alice, out)
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
    expect_statuses(got, Counter({(200, None): 10}), out)
    balance, ledger = await ledger_vs_balance(alice, out)
    if balance != 2000:
        out.append(f"balance: expected 2000, got {balance}")
    if len(ledger) != 11:
        out.append(f"ledger: expected 11 rows, got {len(ledger)}")
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
    expect_statuses(got, Counter({(200, None): n}), out)
    a, _ = await ledger_vs_balance(alice, out)
    b, _ = await ledger_vs_balance(bob, out)
    if a + b != 20_000:
        out.append(f"balance: total not conserved: {a} + {b} != 20000")
    return out


async def snapshot_reads(http: aiohttp.ClientSession, base: str) -> Violations:
    """Readers of my-points during a stream of deductions see balance and count of one commit.

    Deductions start 8 ms apart and readers 3 ms apart (both over ~100 ms), so that readers are
    not starved of pool connections by writers queueing on the same row: a reader has to land
    while a deduction is in flight, or it proves nothing.
    """
    out: Violations = []
    alice = await register(http, base)
    await alice.fund(6000)

    async def op(c: Client, i: int) -> Response:
        if i < 12:
            await asyncio.sleep(0.008 * i)
            return await c.post("/points/deduct", {"amount": 300})
        await asyncio.sleep(0.003 * (i - 12))
        return await c.get("/points/my-points")

    got = await concurrently(12 + 36, base, alice.token, op)
    for r in got:
        if r.status != 200:
            out.append(f"statuses: {r.status} {r.body}")
        elif "transaction_count" in r.body:
            balance, count = r.body["balance"], r.body["transaction_count"]
            if balance != 6000 - 300 * (count - 1):
                out.append(f"snapshot: balance {balance} with {count} transactions")
    await ledger_vs_balance(alice, out)
    return out
