"""Network actions against a real Toxiproxy in front of the reference target (loopback)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp
import pytest
from pydantic import ValidationError

from monitor.chaos.action import ActionContext
from monitor.chaos.engine import ActionEngine
from monitor.chaos.errors import ActionError
from monitor.chaos.journal import Journal
from monitor.chaos.registry import build_action
from monitor.chaos.toxiproxy import Toxiproxy
from tests.chaos.helpers import until_injected
from tests.plugins.postgres import free_port


async def _get_ms(url: str) -> float:
    t0 = time.monotonic()
    async with aiohttp.ClientSession() as http, http.get(f"{url}/healthz") as resp:
        assert resp.status == 200
    return (time.monotonic() - t0) * 1000


async def _proxy(api: str, upstream: str) -> tuple[dict[str, object], str]:
    port = free_port()
    where = {"api": api, "proxy": "ref", "listen": f"127.0.0.1:{port}", "upstream": upstream}
    return where, f"http://127.0.0.1:{port}"


async def test_latency_is_added_while_active_and_gone_after(
    tmp_path: Path, toxiproxy_api: str, reference_url: str
) -> None:
    where, proxied = await _proxy(toxiproxy_api, reference_url.removeprefix("http://"))
    action = build_action("latency", {**where, "latency": 300, "jitter": 0})
    journal, abort = Journal(tmp_path), asyncio.Event()
    engine = ActionEngine(journal)
    ctx = ActionContext("n1", "ref")
    task = asyncio.create_task(engine.run(action, ctx, duration_s=60, abort=abort))
    await until_injected(journal)
    assert [t["name"] for t in await Toxiproxy(toxiproxy_api).toxics("ref")] == [
        "soakmon-n1-downstream"
    ]
    during = await _get_ms(proxied)
    abort.set()
    run = await task
    after = await _get_ms(proxied)
    assert run.result == "aborted"
    assert during >= 300
    assert after < 300
    assert await Toxiproxy(toxiproxy_api).toxics("ref") == []


async def test_blackhole_and_reset_break_requests_then_revert(
    tmp_path: Path, toxiproxy_api: str, reference_url: str
) -> None:
    where, proxied = await _proxy(toxiproxy_api, reference_url.removeprefix("http://"))
    journal = Journal(tmp_path)
    engine = ActionEngine(journal)
    for kind, extra in (("reset-peer", {}), ("timeout", {"timeout": 0})):
        action = build_action(kind, {**where, **extra, "stream": "both"})
        abort = asyncio.Event()
        ctx = ActionContext(kind, "ref")
        task = asyncio.create_task(engine.run(action, ctx, duration_s=60, abort=abort))
        await until_injected(journal)
        with pytest.raises((aiohttp.ClientError, TimeoutError)):
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.8)) as http,
                http.get(f"{proxied}/healthz") as resp,
            ):
                await resp.read()
        abort.set()
        assert (await task).result == "aborted"
        assert await _get_ms(proxied) < 1000


async def test_a_missing_proxy_is_named(tmp_path: Path, toxiproxy_api: str) -> None:
    action = build_action("latency", {"api": toxiproxy_api, "proxy": "nope", "latency": 10})
    with pytest.raises(ActionError, match=r"has no proxy 'nope' \(proxies: none\)"):
        await ActionEngine(Journal(tmp_path)).run(action, ActionContext("n3", "r"), duration_s=1)
    with pytest.raises(ValidationError, match="give both `listen` and `upstream`"):
        build_action("slicer", {"proxy": "x", "listen": "127.0.0.1:1"})
