"""The daemon end to end: real reference targets (as separate processes where the test is about
the target's resources), a real Prometheus scraping the daemon, promtool on its metrics."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.daemon.conftest import running_daemon, verdict, wait_for
from tests.plugins.prometheus import StartPrometheus
from tests.plugins.target_process import TargetProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status, await resp.text()


async def _prom_query(prom_url: str, expr: str) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{prom_url}/api/v1/query", params={"query": expr}) as resp,
    ):
        payload = await resp.json()
    assert payload["status"] == "success", payload
    result: list[dict[str, Any]] = payload["data"]["result"]
    return result


async def test_a_real_prometheus_scrapes_soak_burst_and_probe_series(
    reference_url: str, start_prometheus: StartPrometheus
) -> None:
    config = {
        "targets": {"ref": {"url": reference_url}},
        "soak": [{"name": "steady", "target": "ref", "vus": 2, "window": "1s",
                  "requests": [{"path": "/healthz"}, {"path": "/readyz"}]}],
        "bursts": [{"name": "spike", "target": "ref", "size": 20,
                    "request": {"path": "/healthz"}, "schedule": {"every": "3s"},
                    "recover_within": "1s"}],
        "probes": [{"name": "self", "kind": "self", "every": "1s"},
                   {"name": "ref-metrics", "kind": "scrape", "target": "ref",
                    "url": f"{reference_url}/metrics", "every": "1s"}],
        "slo": {"window": "30s", "min_requests": 5},
    }  # fmt: skip
    async with running_daemon(config) as daemon:
        assert daemon.server is not None
        address = f"127.0.0.1:{daemon.server.port}"
        prom = await asyncio.to_thread(start_prometheus, [address])

        async def series(expr: str) -> list[dict[str, Any]]:
            return await _prom_query(prom.url, expr)

        deadline = time.monotonic() + 60
        found: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            found = await series('soakmon_soak_analysis_passing{analysis="burst_recovered:spike"}')
            if found:
                break
            await asyncio.sleep(1)
        assert found, "Prometheus never saw the burst verdict"
        soak = await series('soakmon_requests_total{suite="soak"}')
        assert {s["metric"]["operation"] for s in soak} == {"GET /healthz", "GET /readyz"}
        assert {s["metric"]["outcome"] for s in soak} == {"ok"}
        assert {s["metric"]["scenario"] for s in soak} == {"steady"}
        burst = await series('soakmon_requests_total{suite="burst",scenario="spike"}')
        assert float(burst[0]["value"][1]) >= 20
        hist = await series("soakmon_request_duration_seconds_bucket")
        assert hist
        pool = await series('soakmon_target_db_pool_size{target="ref"}')
        assert float(pool[0]["value"][1]) > 0
        rss = await series("soakmon_daemon_resident_memory_bytes")
        assert float(rss[0]["value"][1]) > 10e6
        slo = await series('soakmon_slo_passing{target="ref",slo="p95"}')
        assert float(slo[0]["value"][1]) == 1
        assert await series('up{job="soakmon"} == 1')

        status, text = await _get(f"http://{address}/metrics")
        assert status == 200
        promtool = shutil.which("promtool")
        assert promtool is not None
        lint = await asyncio.to_thread(
            subprocess.run,
            [promtool, "check", "metrics"],
            input=text.encode(),
            capture_output=True,
            check=False,
        )
        assert lint.returncode == 0, lint.stdout.decode() + lint.stderr.decode()

        status, body = await _get(f"http://{address}/")
        assert status == 200
        assert "SLOs and soak analysis" in body
        assert "burst_recovered:spike" in body


async def test_memory_and_pool_leaks_fire_and_a_clean_target_stays_quiet(
    targets: list[TargetProcess], tmp_path: Path
) -> None:
    for tag, faults in (("leak", ["memory-leak"]), ("poolleak", ["pool-leak"]), ("clean", [])):
        targets.append(TargetProcess(tmp_path, tag, faults))
    await asyncio.gather(*(t.start() for t in targets))
    config: dict[str, Any] = {"targets": {}, "soak": [], "probes": []}
    for t in targets:
        token_file = tmp_path / f"{t.tag}.token"
        token_file.write_text(await t.register(f"soak-{t.tag}"))
        config["targets"][t.tag] = {
            "url": t.url, "timeout": "2s", "credentials": {"token_file": str(token_file)},
        }  # fmt: skip
        config["soak"].append({
            "name": t.tag, "target": t.tag, "rate": 40, "max_vus": 20, "window": "1s",
            "requests": [{"path": "/points/my-points"}],
        })  # fmt: skip
        config["probes"].append({
            "name": f"{t.tag}-metrics", "kind": "scrape", "target": t.tag,
            "url": f"{t.url}/metrics", "every": "0.5s",
        })  # fmt: skip
    # A compressed soak: minutes of history instead of hours, thresholds scaled to match.
    config["analysis"] = {
        "horizon": "2m", "memory_min_span": "15s", "memory_warmup": "2s",
        "memory_growth_mib_per_hour": 500,
    }  # fmt: skip

    async with running_daemon(config) as daemon:

        def fired() -> bool:
            leak = verdict(daemon, "leak", "memory_growth")
            pool = verdict(daemon, "poolleak", "pool_not_exhausted")
            return bool(
                leak and leak["conclusive"] and not leak["passed"]
                and pool and pool["conclusive"] and not pool["passed"]
            )  # fmt: skip

        await wait_for(fired, 120, "the memory-leak and pool-leak verdicts to fire")
        clean_memory = verdict(daemon, "clean", "memory_growth")
        clean_pool = verdict(daemon, "clean", "pool_not_exhausted")
        leak_memory = verdict(daemon, "leak", "memory_growth")
        pool_verdict = verdict(daemon, "poolleak", "pool_not_exhausted")
        assert clean_memory is not None
        assert clean_memory["conclusive"]
        assert clean_memory["passed"], clean_memory
        assert clean_pool is not None
        assert clean_pool["passed"], clean_pool
        assert leak_memory is not None
        assert "likely a leak" in leak_memory["message"]
        assert pool_verdict is not None
        assert "waiting" in pool_verdict["observed"]
        registry = daemon.metrics.registry
        assert (
            registry.get_sample_value(
                "soakmon_soak_analysis_passing", {"target": "leak", "analysis": "memory_growth"}
            )
            == 0
        )
        assert (
            registry.get_sample_value(
                "soakmon_soak_analysis_passing", {"target": "clean", "analysis": "memory_growth"}
            )
            == 1
        )


async def test_target_down_then_back_is_recorded_and_the_daemon_recovers(
    targets: list[TargetProcess], tmp_path: Path
) -> None:
    target = TargetProcess(tmp_path, "flaky")
    targets.append(target)
    await target.start()
    config = {
        "targets": {"flaky": {"url": target.url, "timeout": "1s"}},
        "soak": [{"name": "steady", "target": "flaky", "vus": 2, "window": "0.5s",
                  "requests": [{"path": "/readyz"}]}],
        "probes": [{"name": "flaky-metrics", "kind": "scrape", "target": "flaky",
                    "url": f"{target.url}/metrics", "every": "0.5s"}],
    }  # fmt: skip
    async with running_daemon(config) as daemon:
        soak = daemon.state.soaks["steady"]
        probe = daemon.state.probes["flaky-metrics"]
        await wait_for(lambda: soak.get("requests_total", 0) > 20, 30, "soak traffic")
        target.kill()
        await wait_for(lambda: soak.get("errors_total", 0) > 10, 30, "errors during the outage")
        await wait_for(lambda: bool(probe.get("error")), 30, "the probe to notice the outage")
        await asyncio.sleep(3)  # the outage goes on; the daemon must keep running
        assert all(t["restarts"] == 0 for t in daemon.state.status()["tasks"].values())
        await target.start()  # same port, same database
        await wait_for(
            lambda: soak["last_interval"]["errors"] == 0 and soak["last_interval"]["requests"] > 0,  # type: ignore[index]
            30,
            "the soak to recover by itself",
        )
        await wait_for(lambda: probe.get("error") is None, 30, "the probe to recover")
        refused = daemon.metrics.registry.get_sample_value(
            "soakmon_requests_total",
            {"suite": "soak", "scenario": "steady", "operation": "GET /readyz",
             "outcome": "refused", "target": "flaky"},
        )  # fmt: skip
        assert refused is not None
        assert refused > 0
        assert daemon.metrics.registry.get_sample_value(
            "soakmon_probe_errors_total", {"probe": "flaky-metrics"}
        )
