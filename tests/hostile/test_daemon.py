"""The daemon watches a hostile target for a while: soak requests, a burst and probes all meet
garbage answers; each is counted as an error, the daemon's memory stays bounded and its
``/healthz``, ``/readyz`` and ``/api/status`` keep answering."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.daemon.conftest import running_daemon
from tests.hostile.h2server import hostile_h2_server
from tests.hostile.server import HOSTILE, hostile_server
from tests.hostile.test_engine import RSS_GROWTH, PeakRss

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


async def _get(url: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
        http.get(url) as resp,
    ):
        return resp.status, await resp.json()


async def test_daemon_stays_healthy_while_its_target_answers_garbage() -> None:
    async with hostile_server() as (url, counts):
        config = {
            "targets": {"bad": {"url": url, "timeout": "1s"}},
            "soak": [{"name": "garbage", "target": "bad", "vus": 4, "window": "1s",
                      "requests": [{"path": p} for p in [*HOSTILE, "/ok"]]}],
            "bursts": [{"name": "spike", "target": "bad", "size": 8,
                        "request": {"path": "/endless"}, "schedule": {"every": "2s"},
                        "recover_within": "1s"}],
            "probes": [{"name": "self", "kind": "self", "every": "1s"},
                       {"name": "endless-metrics", "kind": "scrape", "target": "bad",
                        "url": f"{url}/endless", "every": "1s"},
                       {"name": "binary-metrics", "kind": "scrape", "target": "bad",
                        "url": f"{url}/bad-encoding", "every": "1s"},
                       {"name": "prom", "kind": "promql", "target": "bad", "url": url,
                        "queries": {"pool_in_use": "up"}, "every": "1s"}],
        }  # fmt: skip
        async with PeakRss() as rss, running_daemon(config) as daemon:
            assert daemon.server is not None
            base = daemon.server.url
            deadline = time.monotonic() + 120
            while not all(counts.get(p, 0) >= 2 for p in HOSTILE):
                assert time.monotonic() < deadline, f"not every path requested: {counts}"
                assert (await _get(f"{base}/healthz"))[0] == 200
                await asyncio.sleep(0.5)
            await asyncio.sleep(2.5)  # one more soak window and probe round
            health, _ = await _get(f"{base}/healthz")
            ready, _ = await _get(f"{base}/readyz")
            code, status = await _get(f"{base}/api/status")
    assert (health, ready, code) == (200, 200, 200)
    soak = status["soak"]["garbage"]
    assert soak["errors_total"] >= len(HOSTILE), soak
    assert soak["requests_total"] > soak["errors_total"], soak  # /ok kept succeeding
    probes = status["probes"]
    for name in ("endless-metrics", "binary-metrics", "prom"):
        assert probes[name]["errors"] >= 1, (name, probes[name])
        assert "\n" not in probes[name]["error"], probes[name]
    assert probes["self"]["error"] is None
    assert rss.growth < 2 * RSS_GROWTH, f"RSS grew {rss.growth >> 20} MiB"


async def test_daemon_stays_healthy_while_its_h2c_target_sends_garbage_frames() -> None:
    """A scheduled suite job over h2c (tests/hostile/h2suite.yaml: concurrent phases answered
    with bad HPACK, floods, GOAWAY, RST_STREAM, a bad :status, an endless body): each run ends
    and is recorded, the next one comes, and the daemon keeps answering."""
    here = Path(__file__).parent
    async with hostile_h2_server() as (url, counts):
        config = {
            "targets": {"bad": {"url": url, "timeout": "20s", "h2c": True,
                                "profile": str(here / "h2profile.yaml")}},
            "suites": [{"suite": str(here / "h2suite.yaml"), "target": "bad",
                        "schedule": {"every": "1s"}, "sync": "single-packet", "attempts": 1}],
        }  # fmt: skip
        async with PeakRss() as rss, running_daemon(config) as daemon:
            assert daemon.server is not None
            base = daemon.server.url
            jobs = daemon.state.suites
            deadline = time.monotonic() + 150
            while not all(job.runs_total >= 2 for job in jobs.values()):
                assert time.monotonic() < deadline, "the suite job did not run twice"
                assert (await _get(f"{base}/healthz"))[0] == 200
                await asyncio.sleep(0.5)
            health, _ = await _get(f"{base}/healthz")
            ready, _ = await _get(f"{base}/readyz")
            code, status = await _get(f"{base}/api/status")
    assert (health, ready, code) == (200, 200, 200)
    (suite,) = status["suites"]
    assert suite["last_run"] is not None, suite
    assert counts.get("/settings-flood", 0) >= 2, counts
    assert counts.get("/bad-hpack", 0) >= 2, counts
    assert rss.growth < 2 * RSS_GROWTH, f"RSS grew {rss.growth >> 20} MiB"
