"""Contract: Top3 (cost, uniqueness, nothing written on failure, completion bonus) and rewards."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import aiohttp
import pytest

from tests.plugins.api import Client, register

KINDS = {"time_freeze", "points_boost", "streak_shield"}


async def _state(client: Client) -> tuple[int, int]:
    me = await client.get("/points/my-points")
    assert me.status == 200
    return me.body["balance"], me.body["transaction_count"]


async def test_top3_costs_300_and_is_readable(
    any_db_reference_url: str, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, any_db_reference_url)
    await alice.fund(1000)
    ids = [(await alice.new_task(f"t{i}"))["id"] for i in range(3)]
    r = await alice.post("/top3", {"date": "2030-05-17", "task_ids": ids})
    assert r.status == 201
    assert r.body == {"date": "2030-05-17", "task_ids": ids, "points_spent": 300}
    assert await _state(alice) == (700, 2)
    assert (await alice.ledger())[0]["amount"] == -300

    got = await alice.get("/top3", params={"date": "2030-05-17"})
    assert got.status == 200
    assert got.body["date"] == "2030-05-17"
    assert sorted(got.body["task_ids"]) == sorted(ids)
    empty = await alice.get("/top3", params={"date": "2030-05-18"})
    assert empty.body == {"date": "2030-05-18", "task_ids": []}

    one = await alice.post("/top3", {"date": "2030-05-18", "task_ids": ids[:1]})
    assert one.status == 201
    assert one.body["task_ids"] == ids[:1]


async def test_top3_failures_write_nothing(
    any_db_reference_url: str, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, any_db_reference_url)
    ids = [(await alice.new_task(f"t{i}"))["id"] for i in range(2)]
    await alice.fund(299)
    poor = await alice.post("/top3", {"date": "2030-01-01", "task_ids": ids})
    assert (poor.status, poor.error()) == (409, "insufficient_points")
    assert await _state(alice) == (299, 1)
    assert (await alice.get("/top3", params={"date": "2030-01-01"})).body["task_ids"] == []

    await alice.fund(301)
    assert (await alice.post("/top3", {"date": "2030-01-01", "task_ids": ids})).status == 201
    again = await alice.post("/top3", {"date": "2030-01-01", "task_ids": ids[:1]})
    assert (again.status, again.error()) == (409, "already_set")
    assert await _state(alice) == (300, 3)
    assert sorted((await alice.get("/top3", params={"date": "2030-01-01"})).body["task_ids"]) == (
        sorted(ids)
    )


async def test_top3_validation(any_db_reference_url: str, http: aiohttp.ClientSession) -> None:
    alice = await register(http, any_db_reference_url)
    await alice.fund(1000)
    ids = [(await alice.new_task(f"t{i}"))["id"] for i in range(4)]
    for body in (
        {"date": "2030-13-01", "task_ids": ids[:1]},
        {"date": "30-01-2030", "task_ids": ids[:1]},
        {"date": "2030-02-30", "task_ids": ids[:1]},
        {"task_ids": ids[:1]},
        {"date": "2030-01-01"},
        {"date": "2030-01-01", "task_ids": []},
        {"date": "2030-01-01", "task_ids": ids},  # 4 > 3
        {"date": "2030-01-01", "task_ids": ["not-a-uuid"]},
    ):
        r = await alice.post("/top3", body)
        assert (r.status, r.error()) == (422, "invalid_request"), body
    for params in ({}, {"date": "yesterday"}, {"date": "2030-00-10"}, {"date": "0"}):
        r = await alice.get("/top3", params=params)
        assert (r.status, r.error()) == (422, "invalid_request"), params
    assert await _state(alice) == (1000, 1)


async def test_top3_only_takes_own_live_tasks(
    any_db_reference_url: str, http: aiohttp.ClientSession
) -> None:
    base = any_db_reference_url
    alice, bob = await register(http, base), await register(http, base)
    await alice.fund(1000)
    own = await alice.new_task("mine")
    deleted = await alice.new_task("deleted")
    await alice.delete(f"/tasks/{deleted['id']}")
    foreign = await bob.new_task("bob's")
    for bad in (deleted["id"], foreign["id"], str(uuid.uuid4())):
        r = await alice.post("/top3", {"date": "2030-03-03", "task_ids": [own["id"], bad]})
        assert r.status in {404, 422}, r
        assert r.error() == {404: "not_found", 422: "invalid_request"}[r.status]
    assert await _state(alice) == (1000, 1)
    assert (await alice.get("/top3", params={"date": "2030-03-03"})).body["task_ids"] == []
    # Bob does not see Alice's Top3.
    assert (
        await alice.post("/top3", {"date": "2030-03-03", "task_ids": [own["id"]]})
    ).status == 201
    assert (await bob.get("/top3", params={"date": "2030-03-03"})).body["task_ids"] == []


async def test_completing_a_top3_task_earns_100_once(
    any_db_reference_url: str, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, any_db_reference_url)
    await alice.fund(300)
    today = datetime.now(UTC).date().isoformat()
    picked, other = await alice.new_task("picked"), await alice.new_task("other")
    assert (await alice.post("/top3", {"date": today, "task_ids": [picked["id"]]})).status == 201
    done = await alice.post(f"/tasks/{picked['id']}/complete")
    assert done.status == 200
    if done.body["completed_at"][:10] != today:
        pytest.skip("the UTC date changed during the test")
    await alice.post(f"/tasks/{picked['id']}/complete")  # already completed: no second bonus
    await alice.post(f"/tasks/{other['id']}/complete")  # not in the Top3: no bonus
    ledger = await alice.ledger()
    bonus = [row for row in ledger if row["reason"] == "top3_completion"]
    assert [row["amount"] for row in bonus] == [100]
    assert await _state(alice) == (100, 3)


async def test_welcome_gift_once(any_db_reference_url: str, http: aiohttp.ClientSession) -> None:
    alice = await register(http, any_db_reference_url)
    r = await alice.post("/rewards/welcome-gift")
    assert r.status == 201
    assert r.body["points"] == 1000
    assert sorted((i["reward"], i["quantity"]) for i in r.body["items"]) == sorted(
        (kind, 1) for kind in KINDS
    )
    assert await _state(alice) == (1000, 1)
    assert (await alice.ledger())[0]["reason"] == "welcome_gift"

    again = await alice.post("/rewards/welcome-gift")
    assert (again.status, again.error()) == (409, "already_claimed")
    assert await _state(alice) == (1000, 1)
    mine = await alice.get("/rewards/my-rewards")
    assert mine.status == 200
    held = {i["reward"]: i["quantity"] for i in mine.body["items"] if i["quantity"]}
    assert held == dict.fromkeys(KINDS, 1)


async def test_grant_redeem_and_insufficient_quantity(
    any_db_reference_url: str, http: aiohttp.ClientSession
) -> None:
    alice, bob = (
        await register(http, any_db_reference_url),
        await register(http, any_db_reference_url),
    )
    granted = await alice.post("/rewards/grant", {"reward": "points_boost", "quantity": 2})
    assert granted.status == 200
    assert granted.body == {"reward": "points_boost", "quantity": 2}

    redeemed = await alice.post("/rewards/redeem", {"reward": "points_boost"})
    assert redeemed.status == 200
    assert redeemed.body == {"reward": "points_boost", "remaining": 1}
    assert (await alice.post("/rewards/redeem", {"reward": "points_boost"})).body["remaining"] == 0
    empty = await alice.post("/rewards/redeem", {"reward": "points_boost"})
    assert (empty.status, empty.error()) == (409, "insufficient_quantity")
    never = await alice.post("/rewards/redeem", {"reward": "streak_shield"})
    assert (never.status, never.error()) == (409, "insufficient_quantity")

    mine = await alice.get("/rewards/my-rewards")
    quantities = {i["reward"]: i["quantity"] for i in mine.body["items"]}
    assert quantities.get("points_boost", 0) == 0
    assert all(q >= 0 for q in quantities.values())
    assert all(i["quantity"] == 0 for i in (await bob.get("/rewards/my-rewards")).body["items"])


async def test_reward_validation(any_db_reference_url: str, http: aiohttp.ClientSession) -> None:
    alice = await register(http, any_db_reference_url)
    for body in (
        {"reward": "golden_goose", "quantity": 1},
        {"reward": "time_freeze", "quantity": 0},
        {"reward": "time_freeze", "quantity": -1},
        {"reward": "time_freeze", "quantity": 1.5},
        {"reward": "time_freeze"},
        {"quantity": 1},
    ):
        r = await alice.post("/rewards/grant", body)
        assert (r.status, r.error()) == (422, "invalid_request"), body
    for body in ({"reward": "golden_goose"}, {}, {"reward": 3}):
        r = await alice.post("/rewards/redeem", body)
        assert (r.status, r.error()) == (422, "invalid_request"), body
    mine = await alice.get("/rewards/my-rewards")
    assert all(i["quantity"] == 0 for i in mine.body["items"])
