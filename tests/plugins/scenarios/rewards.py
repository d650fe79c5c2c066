"""Reward scenarios: welcome gift once, redemption without overdraft, grants read whole."""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp

from tests.plugins.api import Client, Response, concurrently, register
from tests.plugins.scenarios.common import Violations, expect_statuses, ledger_vs_balance


async def gift_storm(http: aiohttp.ClientSession, base: str, n: int = 5) -> Violations:
    out: Violations = []
    alice = await register(http, base)
    got = await concurrently(n, base, alice.token, lambda c, _: c.post("/rewards/welcome-gift"))
    expect_statuses(got, Counter({(201, None): 1, (409, "already_claimed"): n - 1}), out)
    balance, ledger = await ledger_vs_balance(alice, out)
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


async def redeem_storm(http: aiohttp.ClientSession, base: str, n: int = 8) -> Violations:
    out: Violations = []
    alice = await register(http, base)
    await alice.post("/rewards/grant", {"reward": "time_freeze", "quantity": 5})
    got = await concurrently(
        n, base, alice.token, lambda c, _: c.post("/rewards/redeem", {"reward": "time_freeze"})
    )
    expect_statuses(got, Counter({(200, None): 5, (409, "insufficient_quantity"): n - 5}), out)
    mine = await alice.get("/rewards/my-rewards")
    left = {i["reward"]: i["quantity"] for i in mine.body["items"]}.get("time_freeze", 0)
    if left != 0:
        out.append(f"items: expected 0 time_freeze left, got {left}")
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
