"""Contract: points balance, ledger, add / deduct / transfer (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid

import aiohttp
import pytest

from tests.plugins.api import register

BAD_AMOUNTS = [0, -5, 1.5, "ten", None, [1]]


async def test_add_and_deduct_move_the_balance_and_write_the_ledger(
    any_db_reference_url: str, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, any_db_reference_url)
    added = await alice.post("/points/add", {"amount": 500, "reason": "salary"})
    assert added.status == 200
    assert set(added.body) == {"balance", "transaction_id"}
    assert added.body["balance"] == 500
    uuid.UUID(added.body["transaction_id"])

    deducted = await alice.post("/points/deduct", {"amount": 120})
    assert deducted.status == 200
    assert deducted.body["balance"] == 380
    assert deducted.body["transaction_id"] != added.body["transaction_id"]

    me = await alice.get("/points/my-points")
    assert me.status == 200
    assert me.body == {"balance": 380, "transaction_count": 2}
    ledger = await alice.ledger()
    assert [row["amount"] for row in ledger] == [-120, 500]
    assert ledger[0]["id"] == deducted.body["transaction_id"]
    assert ledger[1]["reason"] == "salary"
    assert sum(row["amount"] for row in ledger) == me.body["balance"]


async def test_deduct_beyond_balance_is_409_and_writes_nothing(
    any_db_reference_url: str, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, any_db_reference_url)
    await alice.fund(100)
    r = await alice.post("/points/deduct", {"amount": 101})
    assert r.status == 409
    assert r.error() == "insufficient_points"
    assert (await alice.get("/points/my-points")).body == {"balance": 100, "transaction_count": 1}
    # Exactly the whole balance is allowed; it never goes below 0.
    assert (await alice.post("/points/deduct", {"amount": 100})).body["balance"] == 0
    assert (await alice.post("/points/deduct", {"amount": 1})).status == 409


@pytest.mark.parametrize("path", ["/points/add", "/points/deduct"])
async def test_amount_must_be_a_positive_integer(
    any_db_reference_url: str, http: aiohttp.ClientSession, path: str
) -> None:
    alice = await register(http, any_db_reference_url)
    await alice.fund(10)
    for amount in BAD_AMOUNTS:
        r = await alice.post(path, {"amount": amount})
        assert (r.status, r.error()) == (422, "invalid_request"), amount
    r = await alice.post(path, {"reason": "no amount"})
    assert (r.status, r.error()) == (422, "invalid_request")
    assert (await alice.get("/points/my-points")).body == {"balance": 10, "transaction_count": 1}


async def test_transactions_are_newest_first_with_limit_offset_and_total(
    any_db_reference_url: str, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, any_db_reference_url)
    for amount in (1, 2, 3, 4, 5):
        await alice.fund(amount)
    r = await alice.get("/points/transactions")
    assert r.status == 200
    assert set(r.body) == {"items", "total"}
    assert r.body["total"] == 5
    assert [i["amount"] for i in r.body["items"]] == [5, 4, 3, 2, 1]
    for item in r.body["items"]:
        assert set(item) >= {"id", "amount", "reason", "created_at"}
    page = await alice.get("/points/transactions", params={"limit": "2", "offset": "1"})
    assert page.status == 200
    assert [i["amount"] for i in page.body["items"]] == [4, 3]
    assert page.body["total"] == 5
    tail = await alice.get("/points/transactions", params={"limit": "10", "offset": "4"})
    assert [i["amount"] for i in tail.body["items"]] == [1]
    beyond = await alice.get("/points/transactions", params={"offset": "50"})
    assert beyond.body == {"items": [], "total": 5}


@pytest.mark.parametrize(
    "params",
    [{"limit": "abc"}, {"limit": "-1"}, {"offset": "-1"}, {"offset": "x"}],
    ids=["limit-text", "limit-negative", "offset-negative", "offset-text"],
)
async def test_bad_transaction_query_is_422(
    reference_url: str, http: aiohttp.ClientSession, params: dict[str, str]
) -> None:
    alice = await register(http, reference_url)
    r = await alice.get("/points/transactions", params=params)
    assert (r.status, r.error()) == (422, "invalid_request")


async def test_transfer_moves_points_between_users_in_one_step(
    any_db_reference_url: str, http: aiohttp.ClientSession
) -> None:
    base = any_db_reference_url
    alice, bob = await register(http, base), await register(http, base)
    await alice.fund(1000)
    r = await alice.post("/points/transfer", {"to_user_id": bob.user_id, "amount": 250})
    assert r.status == 200
    assert r.body["balance"] == 750
    assert await bob.balance() == 250
    assert [row["amount"] for row in await bob.ledger()] == [250]
    assert [row["amount"] for row in await alice.ledger()] == [-250, 1000]

    too_much = await alice.post("/points/transfer", {"to_user_id": bob.user_id, "amount": 751})
    assert (too_much.status, too_much.error()) == (409, "insufficient_points")
    assert await alice.balance() == 750
    assert await bob.balance() == 250


async def test_transfer_validation_and_unknown_recipient(
    any_db_reference_url: str, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, any_db_reference_url)
    await alice.fund(100)
    bad_bodies = [
        {"to_user_id": "not-a-uuid", "amount": 5},
        {"amount": 5},
        {"to_user_id": str(uuid.uuid4())},
        {"to_user_id": str(uuid.uuid4()), "amount": 0},
        {"to_user_id": str(uuid.uuid4()), "amount": -3},
    ]
    for body in bad_bodies:
        r = await alice.post("/points/transfer", body)
        assert (r.status, r.error()) == (422, "invalid_request"), body
    r = await alice.post("/points/transfer", {"to_user_id": str(uuid.uuid4()), "amount": 5})
    assert (r.status, r.error()) == (404, "not_found")
    assert (await alice.get("/points/my-points")).body == {"balance": 100, "transaction_count": 1}


async def test_users_see_only_their_own_points(
    any_db_reference_url: str, http: aiohttp.ClientSession
) -> None:
    alice, bob = (
        await register(http, any_db_reference_url),
        await register(http, any_db_reference_url),
    )
    await alice.fund(70)
    await bob.fund(3)
    assert (await bob.get("/points/my-points")).body == {"balance": 3, "transaction_count": 1}
    assert [row["amount"] for row in await bob.ledger()] == [3]
    assert [row["amount"] for row in await alice.ledger()] == [70]
