"""Probes against real sources: processes, a Prometheus exposition, a real Prometheus server.

The Kubernetes test here points the official client at a fake endpoint on loopback (the same
seam, ``MetricsApiSource``, the daemon uses), so it runs without a control plane; the probe
against a real kube-apiserver, with RBAC and an aggregated metrics API, is in ``tests/kube/``.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from kubernetes import client
from prometheus_client import CollectorRegistry, Gauge, generate_latest

from monitor.observe.probes import (
    KubernetesPodMemoryProbe,
    MetricsApiSource,
    ProbeError,
    ProcessMemoryProbe,
    PromQLProbe,
    SelfMemoryProbe,
    TargetMetricsProbe,
)
from tests.plugins.prometheus import StartPrometheus

MIB = 1024 * 1024


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def exporter() -> AsyncIterator[tuple[str, Gauge]]:
    """A real prometheus_client exposition with the reference target's pool gauges."""
    registry = CollectorRegistry()
    size = Gauge("reference_db_pool_size", "pool size", registry=registry)
    in_use = Gauge("reference_db_pool_in_use", "in use", ["db"], registry=registry)
    size.set(10)
    in_use.labels("a").set(3)
    in_use.labels("b").set(4)

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), content_type="text/plain")

    async def garbage(_: web.Request) -> web.Response:
        return web.Response(text="{not prometheus text", content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/garbage", garbage)
    runner, url = await _serve(app)
    yield url, in_use.labels("a")  # type: ignore[misc]
    await runner.cleanup()


async def test_self_memory_sees_an_allocation() -> None:
    probe = SelfMemoryProbe()
    before = (await probe.read())["rss_bytes"]
    ballast = bytearray(64 * MIB)
    ballast[::4096] = b"x" * len(ballast[::4096])  # touch every page
    after = (await probe.read())["rss_bytes"]
    assert after - before > 48 * MIB
    del ballast


async def test_process_probe_by_pid_and_by_name_and_when_the_process_dies() -> None:
    code = (
        "import time; b = bytearray(80 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); "
        "print('ready', flush=True); time.sleep(60)  # soakmon-probe-test-marker"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        await proc.stdout.readline()
        by_pid = await ProcessMemoryProbe("target", pid=proc.pid).read()
        by_name = ProcessMemoryProbe("target", match="soakmon-probe-test-marker")
        reading = await by_name.read()
        assert by_pid["rss_bytes"] > 70 * MIB
        assert reading["pid"] == proc.pid
    finally:
        proc.kill()
        await proc.wait()
    with pytest.raises(ProbeError, match=r"gone|no process"):
        await by_name.read()


async def test_target_metrics_probe_sums_label_sets_and_names_bad_sources(
    exporter: tuple[str, Any],
) -> None:
    url, _ = exporter
    values = await TargetMetricsProbe("pool", f"{url}/metrics").read()
    assert values["pool_size"] == 10
    assert values["pool_in_use"] == 7
    with pytest.raises(ProbeError, match=r"not Prometheus text|has none of"):
        await TargetMetricsProbe("pool", f"{url}/garbage").read()
    with pytest.raises(ProbeError, match="HTTP 404"):
        await TargetMetricsProbe("pool", f"{url}/nope").read()
    with pytest.raises(ProbeError, match=re.escape("cannot scrape http://127.0.0.1:9/metrics")):
        await TargetMetricsProbe("pool", "http://127.0.0.1:9/metrics", timeout_s=2).read()


@pytest.mark.slow
async def test_promql_probe_against_a_real_prometheus(
    exporter: tuple[str, Any], start_prometheus: StartPrometheus
) -> None:
    url, _ = exporter
    prom = await asyncio.to_thread(start_prometheus, [url.removeprefix("http://")])
    probe = PromQLProbe(
        "prom",
        prom.url,
        {"in_use": "sum(reference_db_pool_in_use)", "absent": "nonexistent_series", "one": "1"},
    )
    deadline = time.monotonic() + 20
    values: dict[str, float] = {}
    while time.monotonic() < deadline:
        values = await probe.read()
        if "in_use" in values:
            break
        await asyncio.sleep(0.5)
    assert values["in_use"] == 7
    assert values["one"] == 1
    assert "absent" not in values
    with pytest.raises(ProbeError, match="bad"):
        await PromQLProbe("prom", prom.url, {"bad": "sum(("}).read()
    with pytest.raises(ProbeError, match="cannot query"):
        await PromQLProbe("prom", "http://127.0.0.1:9", {"x": "1"}, timeout_s=2).read()


async def test_kubernetes_pod_memory_through_the_real_client_and_a_fake_metrics_api() -> None:
    # Fake endpoint (tests/kube/ has the real API server): the real client talks HTTP to it,
    # so this runs without the control plane.
    pods = {
        "kind": "PodMetricsList",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "items": [
            {
                "metadata": {"name": "api-0", "namespace": "staging"},
                "containers": [
                    {"name": "app", "usage": {"cpu": "10m", "memory": "200Mi"}},
                    {"name": "sidecar", "usage": {"cpu": "1m", "memory": "56Mi"}},
                ],
            },
            {
                "metadata": {"name": "api-1", "namespace": "staging"},
                "containers": [{"name": "app", "usage": {"cpu": "10m", "memory": "300Mi"}}],
            },
        ],
    }
    seen: list[str] = []

    async def list_pod_metrics(request: web.Request) -> web.Response:
        seen.append(request.query.get("labelSelector", ""))
        if request.match_info["ns"] != "staging":
            return web.json_response({"items": []})
        return web.json_response(pods)

    async def list_pods(request: web.Request) -> web.Response:
        if request.match_info["ns"] != "staging":
            return web.json_response({"kind": "PodList", "apiVersion": "v1", "items": []})
        items = [
            {"metadata": {"name": p["metadata"]["name"]}, "status": {"phase": "Running"}}
            for p in pods["items"]
        ]
        return web.json_response({"kind": "PodList", "apiVersion": "v1", "items": items})

    app = web.Application()
    app.router.add_get("/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods", list_pod_metrics)
    app.router.add_get("/api/v1/namespaces/{ns}/pods", list_pods)
    runner, url = await _serve(app)
    try:
        conf = client.Configuration(host=url)
        source = MetricsApiSource(client.ApiClient(conf))
        values = await KubernetesPodMemoryProbe("pods", "staging", "app=api", source).read()
        assert values == {
            "memory_bytes": 556 * MIB,
            "max_pod_memory_bytes": 300 * MIB,
            "pods": 2,
        }
        assert seen == ["app=api"]
        with pytest.raises(ProbeError, match="no pods match"):
            await KubernetesPodMemoryProbe("pods", "other", "app=api", source).read()
    finally:
        await runner.cleanup()
    dead = MetricsApiSource(client.ApiClient(client.Configuration(host="http://127.0.0.1:9")))
    with pytest.raises(ProbeError, match="Kubernetes API for staging/app=api"):
        await KubernetesPodMemoryProbe("pods", "staging", "app=api", dead).read()


async def test_probe_sessions_do_not_leak(exporter: tuple[str, Any]) -> None:
    url, _ = exporter
    async with aiohttp.ClientSession() as session:
        probe = TargetMetricsProbe("pool", f"{url}/metrics", session=session)
        for _ in range(3):
            assert (await probe.read())["pool_size"] == 10
