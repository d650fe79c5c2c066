"""`--token-ttl`: tokens expire a fixed time after they were issued (a compatible extension used
to prove that monitors re-authenticate by themselves)."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from monitor.reference import ReferenceServer


async def test_an_expired_token_gets_401_unauthorized_and_a_new_one_works() -> None:
    async with (
        ReferenceServer(token_ttl=1.0) as server,
        aiohttp.ClientSession(base_url=server.url) as http,
    ):
        async with http.post("/auth/register", json={"username": "ttl-user"}) as resp:
            token = (await resp.json())["token"]
        headers = {"Authorization": f"Bearer {token}"}
        async with http.get("/points/my-points", headers=headers) as resp:
            assert resp.status == 200
        await asyncio.sleep(1.3)
        async with http.get("/points/my-points", headers=headers) as resp:
            assert resp.status == 401
            body = await resp.json()
        assert body["error"] == "unauthorized"
        assert "expired" in body["message"]
        async with http.post("/auth/register", json={"username": "ttl-user-2"}) as resp:
            fresh = (await resp.json())["token"]
        async with http.get(
            "/points/my-points", headers={"Authorization": f"Bearer {fresh}"}
        ) as resp:
            assert resp.status == 200


def test_a_non_positive_ttl_is_refused() -> None:
    with pytest.raises(ValueError, match="token_ttl"):
        ReferenceServer(token_ttl=0)
