"""Contract: registration, authentication, error bodies, operations endpoints, OpenAPI document."""

from __future__ import annotations

import re

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.reference import ReferenceServer
from tests.plugins.api import Client, register, request, unique_name
from tests.plugins.postgres import PostgresServer, create_database, drop_database

# Every endpoint of reference-api.md, as (method, path); path parameters normalised to {}.
CONTRACT_OPERATIONS = {
    ("post", "/auth/register"),
    ("get", "/points/my-points"),
    ("get", "/points/transactions"),
    ("post", "/points/add"),
    ("post", "/points/deduct"),
    ("post", "/points/transfer"),
    ("post", "/tasks"),
    ("get", "/tasks"),
    ("get", "/tasks/{}"),
    ("patch", "/tasks/{}"),
    ("post", "/tasks/{}/complete"),
    ("delete", "/tasks/{}"),
    ("post", "/top3"),
    ("get", "/top3"),
    ("post", "/rewards/welcome-gift"),
    ("get", "/rewards/my-rewards"),
    ("post", "/rewards/grant"),
    ("post", "/rewards/redeem"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
}
ZERO_UUID = "00000000-0000-4000-8000-000000000000"

# (method, path, body) for every endpoint that needs a token.
AUTHENTICATED = [
    ("GET", "/points/my-points", None),
    ("GET", "/points/transactions", None),
    ("POST", "/points/add", {"amount": 1}),
    ("POST", "/points/deduct", {"amount": 1}),
    ("POST", "/points/transfer", {"to_user_id": ZERO_UUID, "amount": 1}),
    ("POST", "/tasks", {"title": "t"}),
    ("GET", "/tasks", None),
    ("GET", f"/tasks/{ZERO_UUID}", None),
    ("PATCH", f"/tasks/{ZERO_UUID}", {"title": "t"}),
    ("POST", f"/tasks/{ZERO_UUID}/complete", None),
    ("DELETE", f"/tasks/{ZERO_UUID}", None),
    ("POST", "/top3", {"date": "2030-01-01", "task_ids": [ZERO_UUID]}),
    ("GET", "/top3?date=2030-01-01", None),
    ("POST", "/rewards/welcome-gift", None),
    ("GET", "/rewards/my-rewards", None),
    ("POST", "/rewards/grant", {"reward": "time_freeze", "quantity": 1}),
    ("POST", "/rewards/redeem", {"reward": "time_freeze"}),
]


async def test_register_returns_user_id_and_token(
    any_db_reference_url: str, http: aiohttp.ClientSession
) -> None:
    r = await request(
        http, "POST", any_db_reference_url + "/auth/register", json_body={"username": "ada"}
    )
    assert r.status == 201
    assert set(r.body) == {"user_id", "token"}
    assert re.fullmatch(r"[0-9a-f-]{36}", r.body["user_id"])
    assert isinstance(r.body["token"], str)
    assert r.body["token"]
    me = Client(http, any_db_reference_url, r.body["token"])
    assert (await me.get("/points/my-points")).body == {"balance": 0, "transaction_count": 0}


async def test_duplicate_username_is_409_already_exists(
    any_db_reference_url: str, http: aiohttp.ClientSession
) -> None:
    name = unique_name()
    await register(http, any_db_reference_url, name)
    again = await request(
        http, "POST", any_db_reference_url + "/auth/register", json_body={"username": name}
    )
    assert again.status == 409
    assert again.error() == "already_exists"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": 42},
        {"username": None},
        ["ada"],
        "ada",
    ],
    ids=["missing", "not-a-string", "null", "array", "string"],
)
async def test_register_rejects_bad_bodies(
    reference_url: str, http: aiohttp.ClientSession, body: object
) -> None:
    r = await request(http, "POST", reference_url + "/auth/register", json_body=body)
    assert r.status == 422
    assert r.error() == "invalid_request"


async def test_malformed_json_is_422_invalid_request(
    any_db_reference_url: str, http: aiohttp.ClientSession
) -> None:
    base = any_db_reference_url
    r = await request(http, "POST", base + "/auth/register", data=b'{"username": ')
    assert (r.status, r.error()) == (422, "invalid_request")
    alice = await register(http, base)
    for path in ("/points/add", "/tasks", "/top3", "/rewards/grant"):
        r = await alice.call("POST", path, data=b"{not json")
        assert (r.status, r.error()) == (422, "invalid_request"), path


@pytest.mark.parametrize(
    "auth",
    [None, "Bearer not-a-token", "Bearer ", "Basic dXNlcjpwYXNz", "not-a-scheme"],
    ids=["missing", "unknown-token", "empty-token", "basic", "garbage"],
)
async def test_every_endpoint_needs_a_valid_token(
    reference_url: str, http: aiohttp.ClientSession, auth: str | None
) -> None:
    headers = {} if auth is None else {"Authorization": auth}
    for method, path, body in AUTHENTICATED:
        r = await request(http, method, reference_url + path, json_body=body, headers=headers)
        assert r.status == 401, (method, path, r)
        assert r.error() == "unauthorized", (method, path)


async def test_auth_is_checked_on_both_databases(
    any_db_reference_url: str, http: aiohttp.ClientSession
) -> None:
    r = await request(http, "GET", any_db_reference_url + "/points/my-points")
    assert (r.status, r.error()) == (401, "unauthorized")
    r = await request(
        http, "GET", any_db_reference_url + "/tasks", headers={"Authorization": "Bearer nope"}
    )
    assert (r.status, r.error()) == (401, "unauthorized")


async def test_unknown_route_and_wrong_method_have_error_bodies(
    reference_url: str, http: aiohttp.ClientSession
) -> None:
    r = await request(http, "GET", reference_url + "/no/such/route")
    assert r.status == 404
    assert r.error() == "not_found"
    r = await request(http, "DELETE", reference_url + "/healthz")
    assert r.status == 405
    assert r.error()  # some code, but always the {"error", "message"} shape


async def test_health_and_readiness(any_db_reference_url: str, http: aiohttp.ClientSession) -> None:
    for path in ("/healthz", "/readyz"):
        r = await request(http, "GET", any_db_reference_url + path)
        assert r.status == 200, (path, r)


async def test_metrics_expose_pool_gauges_retry_counters_and_memory(
    any_db_reference_url: str, http: aiohttp.ClientSession
) -> None:
    base = any_db_reference_url
    alice = await register(http, base)
    await alice.fund(5)  # at least one request through the database
    r = await request(http, "GET", base + "/metrics")
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }
    names = {name for name, _ in samples}
    for gauge in (
        "reference_db_pool_size",
        "reference_db_pool_in_use",
        "reference_db_pool_waiting",
    ):
        assert gauge in names, gauge
    assert samples[("reference_db_pool_size", ())] >= 1
    assert samples[("reference_db_pool_in_use", ())] >= 0
    for cause in ("deadlock", "serialization"):
        assert samples[("reference_tx_retries_total", (("cause", cause),))] == 0
    assert samples[("process_resident_memory_bytes", ())] > 1_000_000


def _normalise(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


async def test_openapi_is_3_1_and_lists_every_operation(
    reference_url: str, http: aiohttp.ClientSession
) -> None:
    r = await request(http, "GET", reference_url + "/openapi.json")
    assert r.status == 200
    doc = r.body
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["title"]
    listed = {
        (method, _normalise(path))
        for path, item in doc["paths"].items()
        for method in item
        if method in {"get", "post", "patch", "delete", "put"}
    }
    missing = CONTRACT_OPERATIONS - listed
    assert not missing, f"operations missing from /openapi.json: {sorted(missing)}"
    # The error shape is part of the document (every 4xx body is {"error", "message"}).
    assert "error" in r.text
    assert "message" in r.text


@pytest.mark.postgres
async def test_readyz_is_503_when_the_database_is_gone(
    postgres_server: PostgresServer, http: aiohttp.ClientSession
) -> None:
    db_url = await create_database(postgres_server)
    async with ReferenceServer(db_url=db_url) as server:
        assert (await request(http, "GET", server.url + "/readyz")).status == 200
        await drop_database(postgres_server, db_url)  # FORCE: cuts the pool's connections
        ready = await request(http, "GET", server.url + "/readyz")
        assert ready.status == 503
        assert (await request(http, "GET", server.url + "/healthz")).status == 200
