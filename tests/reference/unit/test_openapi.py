"""OpenAPI: generated from the models that validate requests; covers every route."""

from __future__ import annotations

import aiohttp

from monitor.reference.api import ENDPOINTS
from monitor.reference.models import AmountIn, TaskCreateIn
from monitor.reference.openapi import build_openapi

CONTRACT_ROUTES = {
    ("post", "/auth/register"),
    ("get", "/points/my-points"),
    ("get", "/points/transactions"),
    ("post", "/points/add"),
    ("post", "/points/deduct"),
    ("post", "/points/transfer"),
    ("post", "/tasks"),
    ("get", "/tasks"),
    ("get", "/tasks/{id}"),
    ("patch", "/tasks/{id}"),
    ("post", "/tasks/{id}/complete"),
    ("delete", "/tasks/{id}"),
    ("post", "/top3"),
    ("get", "/top3"),
    ("post", "/rewards/welcome-gift"),
    ("get", "/rewards/my-rewards"),
    ("post", "/rewards/grant"),
    ("post", "/rewards/redeem"),
    ("post", "/rewards/buy"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
}


def _resolve(doc: dict, ref: str) -> dict:  # type: ignore[type-arg]
    assert ref.startswith("#/components/schemas/")
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]]  # type: ignore[no-any-return]


def test_every_contract_route_is_documented() -> None:
    doc = build_openapi(ENDPOINTS)
    assert doc["openapi"] == "3.1.0"
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert documented == CONTRACT_ROUTES


async def test_every_documented_route_is_served(reference_url: str) -> None:
    doc = build_openapi(ENDPOINTS)
    async with aiohttp.ClientSession() as http:
        for path, ops in doc["paths"].items():
            for method, op in ops.items():
                url = reference_url + path.replace("{id}", "00000000-0000-4000-8000-000000000000")
                async with http.request(method, url) as r:
                    # protected routes answer 401 before anything else; open ones succeed
                    # (or, without a body, reject it as invalid)
                    expected = 401 if op["security"] else 422 if "requestBody" in op else 200
                    assert r.status == expected, (method, path)
            async with http.request("PUT", url) as r:
                assert r.status == 405, path


def test_request_schemas_come_from_the_validating_models() -> None:
    doc = build_openapi(ENDPOINTS)
    add = doc["paths"]["/points/add"]["post"]
    schema = _resolve(doc, add["requestBody"]["content"]["application/json"]["schema"]["$ref"])
    assert schema["properties"] == AmountIn.model_json_schema()["properties"]
    assert schema["properties"]["amount"]["minimum"] == 1
    assert schema["additionalProperties"] is False
    task = _resolve(
        doc,
        doc["paths"]["/tasks"]["post"]["requestBody"]["content"]["application/json"]["schema"][
            "$ref"
        ],
    )
    assert task["properties"]["title"]["maxLength"] == 200
    assert task["required"] == list(TaskCreateIn.model_json_schema()["required"])


def test_every_response_and_error_is_described_with_a_resolvable_schema() -> None:
    doc = build_openapi(ENDPOINTS)
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            statuses = set(op["responses"])
            assert any(s.startswith("2") for s in statuses), (method, path)
            if op["security"]:
                assert "401" in statuses, (method, path)
            if "requestBody" in op or any(p["in"] == "query" for p in op.get("parameters", [])):
                assert "422" in statuses, (method, path)
            for status, response in op["responses"].items():
                for media in response.get("content", {}).values():
                    ref = media["schema"].get("$ref")
                    if ref:
                        target = _resolve(doc, ref)
                        if not status.startswith("2"):
                            assert set(target["properties"]) == {"error", "message"}
    assert "409" in doc["paths"]["/points/deduct"]["post"]["responses"]
    assert "412" in doc["paths"]["/tasks/{id}"]["patch"]["responses"]
    assert "ETag" in doc["paths"]["/tasks/{id}"]["get"]["responses"]["200"]["headers"]


async def test_the_served_document_is_the_generated_one(reference_url: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{reference_url}/openapi.json") as r:
        assert r.status == 200
        assert await r.json() == build_openapi(ENDPOINTS)
