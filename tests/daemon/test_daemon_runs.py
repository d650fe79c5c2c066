"""Scheduled suite runs, self-re-authenticating soak users, and a clean stop mid-run."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from monitor.reference import ReferenceServer
from tests.daemon.conftest import running_daemon, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "aiohttp"])
async def test_soak_users_re_authenticate_when_their_tokens_expire(fast_path: bool) -> None:
    async with ReferenceServer(token_ttl=1.0) as target:
        config = {
            "targets": {"ref": {"url": target.url}},
            "soak": [{"name": "users", "target": "ref", "vus": 2, "window": "0.5s",
                      "think_time": "20ms", "fast_path": fast_path,
                      "operations": [{"op": "points.balance"},
                                     {"op": "tasks.create", "args": {"title": "t ${iteration}"}}]}],
        }  # fmt: skip
        async with running_daemon(config) as daemon:
            soak = daemon.state.soaks["users"]
            await wait_for(lambda: soak.get("reauthentications", 0) >= 4, 30, "re-authentication")
            assert soak["errors_total"] == 0, soak
            assert soak["requests_total"] > 20
            # each user its own session (and connection on the fast path)
            assert soak["transport"] == (
                "fast path" if fast_path else "aiohttp (the fast path is off)"
            )
            registry = daemon.metrics.registry
            unauthorized = sum(
                registry.get_sample_value(
                    "soakmon_requests_total",
                    {
                        "suite": "soak",
                        "scenario": "users",
                        "operation": op,
                        "outcome": "http_4xx",
                        "target": "ref",
                    },
                )
                or 0
                for op in ("points.balance", "tasks.create")
            )
            assert unauthorized, "the expired-token answers are still counted as requests"


async def test_a_scheduled_suite_run_reports_its_checks_and_a_failing_target_raises_violations(
    reference_factory: object,
) -> None:
    make = reference_factory
    clean = await make()  # type: ignore[operator]
    broken = await make(faults=["overdraft"])  # type: ignore[operator]
    config = {
        "targets": {"clean": {"url": clean}, "broken": {"url": broken}},
        "suites": [
            {"suite": "points", "target": "clean", "schedule": {"every": "1h"},
             "scenarios": ["concurrent-points-deduction"], "attempts": 2},
            {"suite": "points", "target": "broken", "schedule": {"every": "1h"},
             "scenarios": ["concurrent-points-deduction"], "attempts": 3},
        ],
    }  # fmt: skip
    async with running_daemon(config) as daemon:
        suites = daemon.state.suites
        await wait_for(
            lambda: all(s.runs_total >= 1 for s in suites.values()), 90, "both suite runs"
        )
        status = daemon.state.status()
        by_target = {s["target"]: s for s in status["suites"]}
        assert by_target["clean"]["last_run"]["passed"] is True
        assert by_target["broken"]["last_run"]["passed"] is False
        violations = status["violations"]
        assert violations, "a failing check is an active violation"
        assert {v["target"] for v in violations} == {"broken"}
        negative = next(v for v in violations if "negative" in v["check"])
        assert "-" in negative["observed"], negative
        assert any(v["evidence"] for v in violations), violations
        registry = daemon.metrics.registry
        assert (
            registry.get_sample_value(
                "soakmon_suite_runs_total", {"suite": "points@broken", "result": "failed"}
            )
            == 1
        )
        assert (
            registry.get_sample_value(
                "soakmon_suite_runs_total", {"suite": "points@clean", "result": "passed"}
            )
            == 1
        )
        ok_requests = registry.get_sample_value(
            "soakmon_requests_total",
            {"suite": "points@clean", "scenario": "suite", "operation": "points.deduct",
             "outcome": "ok", "target": "clean"},
        )  # fmt: skip
        assert ok_requests == 2 * 10  # two attempts, each with its fresh setup
        attempts = {
            (target, result): registry.get_sample_value(
                "soakmon_scenario_attempts_total",
                {
                    "suite": f"points@{target}",
                    "scenario": "concurrent-points-deduction",
                    "target": target,
                    "result": result,
                },
            )
            for target in ("clean", "broken")
            for result in ("held", "violated")
        }
        assert attempts[("clean", "held")] == 2
        assert attempts[("broken", "violated")] == 1  # stopped at the first violation
        spreads = registry.get_sample_value(
            "soakmon_phase_start_spread_seconds_count",
            {"suite": "points@clean", "scenario": "concurrent-points-deduction",
             "target": "clean", "sync": "last-byte", "measured": "send"},
        )  # fmt: skip
        assert spreads == 2  # one concurrent phase per attempt


@pytest.fixture
async def otlp_receiver() -> AsyncIterator[tuple[str, list[ExportTraceServiceRequest]]]:
    exports: list[ExportTraceServiceRequest] = []

    async def traces(request: web.Request) -> web.Response:
        msg = ExportTraceServiceRequest()
        msg.ParseFromString(await request.read())
        exports.append(msg)
        return web.Response()

    app = web.Application()
    app.router.add_post("/v1/traces", traces)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", exports
    await runner.cleanup()


async def test_sigterm_during_a_run_lets_it_finish_exports_and_exits_0(
    reference_url: str,
    tmp_path: Path,
    otlp_receiver: tuple[str, list[ExportTraceServiceRequest]],
) -> None:
    otlp_url, exports = otlp_receiver
    config = {
        "targets": {"ref": {"url": reference_url}},
        "suites": [{"suite": "load", "target": "ref", "schedule": {"every": "1h"},
                    "scenarios": ["sustained-load"], "params": {"sustained_s": 4}}],
        "probes": [],
        "grace_period": "30s",
        "server": {"host": "127.0.0.1", "port": 0},
    }  # fmt: skip
    path = tmp_path / "daemon.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_url, "OTEL_SERVICE_NAME": "soak-t"}
    err = (tmp_path / "daemon.err").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "from monitor.cli.app import main; main()",
        "daemon", "--config", str(path), "--log-level", "info",
        stdout=err, stderr=err, env=env,
    )  # fmt: skip
    log = tmp_path / "daemon.err"
    try:
        # SIGTERM 1 s into the 4 s sustained load, whatever the setup before it took (on a busy
        # machine a sleep after "run started" could land in the setup)
        await wait_for(lambda: "sustained load of" in log.read_text(), 90, "the load phase", 0.05)
        await asyncio.sleep(1)
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        rc = await asyncio.wait_for(proc.wait(), 40)
        took = time.monotonic() - started
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        err.close()
    text = log.read_text()
    assert rc == 0, text
    assert took < 30, f"stop took {took:.1f} s"
    assert "Traceback" not in text
    assert "run finished: passed" in text or "run finished: failed" in text, text
    spans = [
        span.name
        for export in exports
        for rs in export.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    ]
    assert any(name.startswith("run load") for name in spans), spans
    assert "scenario load/sustained-load" in spans, spans
    assert any(name == "points.balance" for name in spans), spans[:20]
