"""Process-level faults and blocking reads, observed from outside (HTTP + /metrics)."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import aiohttp

from monitor.reference import ReferenceServer
from tests.plugins.target_process import TargetProcess


def _metric(text: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert found, f"{name} missing from /metrics"
    return float(found.group(1))


async def _register(http: aiohttp.ClientSession, url: str, name: str) -> dict[str, str]:
    async with http.post(f"{url}/auth/register", json={"username": name}) as r:
        assert r.status == 201, await r.text()
        return {"Authorization": f"Bearer {(await r.json())['token']}"}


async def test_memory_leak_grows_resident_memory(tmp_path: Path) -> None:
    # A process of its own: in the test process, freed memory of earlier tests would absorb
    # the leak and hide it from RSS.
    leaky, clean = TargetProcess(tmp_path, "leaky", ["memory-leak"]), TargetProcess(tmp_path, "ok")
    try:
        await asyncio.gather(leaky.start(), clean.start())
        growth = {}
        async with aiohttp.ClientSession() as http:
            for target in (leaky, clean):
                async with http.get(f"{target.url}/metrics") as r:
                    before = _metric(await r.text(), "process_resident_memory_bytes")
                for i in range(250):
                    await _register(http, target.url, f"m{i}")
                async with http.get(f"{target.url}/metrics") as r:
                    after = _metric(await r.text(), "process_resident_memory_bytes")
                growth[target.tag] = after - before
    finally:
        leaky.kill()
        clean.kill()
    assert growth["leaky"] > 15 * 2**20, growth  # 250 x 256 KiB ~ 62 MiB kept
    assert growth["leaky"] > growth["ok"] + 10 * 2**20, growth


async def test_pool_leak_saturates_the_pool_and_then_requests_wait_and_fail() -> None:
    async with (
        ReferenceServer(faults=["pool-leak"], pool_size=3, max_overflow=0, pool_timeout=1.0) as s,
        aiohttp.ClientSession() as http,
    ):
        await _register(http, s.url, "a")  # keeps one connection
        await _register(http, s.url, "b")  # keeps the second, works on the third
        # keeps the third, then waits for a connection that never comes back
        late = asyncio.create_task(http.post(f"{s.url}/auth/register", json={"username": "c"}))
        await asyncio.sleep(0.3)
        async with http.get(f"{s.url}/metrics") as r:
            text = await r.text()
        assert _metric(text, "reference_db_pool_size") == 3
        assert _metric(text, "reference_db_pool_in_use") == 3
        assert _metric(text, "reference_db_pool_waiting") == 1
        async with await late as r:
            assert r.status == 503
            assert (await r.json())["error"] == "retry_later"


async def test_slow_slows_api_requests_but_not_health_checks() -> None:
    async with ReferenceServer(faults=["slow"]) as server, aiohttp.ClientSession() as http:
        started = time.perf_counter()
        await _register(http, server.url, "s")
        assert time.perf_counter() - started >= 0.6
        started = time.perf_counter()
        async with http.get(f"{server.url}/healthz") as r:
            assert r.status == 200
        assert time.perf_counter() - started < 0.5


async def _deduct_latency_during_reads(faults: tuple[str, ...]) -> float:
    async with ReferenceServer(faults=faults) as server, aiohttp.ClientSession() as http:
        auth = await _register(http, server.url, "r")
        async with http.post(f"{server.url}/points/add", headers=auth, json={"amount": 100}) as r:
            assert r.status == 200

        async def read() -> None:
            async with http.get(f"{server.url}/points/my-points", headers=auth) as r:
                assert r.status == 200

        reading = asyncio.create_task(read())
        await asyncio.sleep(0.05)  # the read is in progress
        started = time.perf_counter()
        async with http.post(f"{server.url}/points/deduct", headers=auth, json={"amount": 1}) as r:
            assert r.status == 200
        elapsed = time.perf_counter() - started
        await reading
        return elapsed


async def test_blocking_reads_block_deductions_and_correct_reads_do_not() -> None:
    blocked = await _deduct_latency_during_reads(("blocking-reads",))
    free = await _deduct_latency_during_reads(())
    assert blocked > 0.1  # waited for the ~200 ms read to release the write lock
    assert blocked > free + 0.05, (blocked, free)
