"""Alerting end to end with real servers on loopback: reference targets as processes, the
daemon in-process, Debian's Alertmanager and Prometheus."""

from __future__ import annotations

import asyncio
import re
import time
import urllib.parse
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.alerts.rules import Windows, build_rules, render
from monitor.events import RunFinished
from tests.daemon.conftest import running_daemon, wait_for
from tests.plugins.alertmanager import StartAlertmanager
from tests.plugins.prometheus import StartPrometheus
from tests.plugins.target_process import TargetProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

DEDUCTION = "concurrent-points-deduction"


def _points_job(every: str) -> dict[str, Any]:
    return {"suite": "points", "target": "ref", "schedule": {"every": every},
            "scenarios": [DEDUCTION]}  # fmt: skip


def _sample(daemon: Any, name: str, labels: dict[str, str] | None = None) -> float:
    value = daemon.metrics.registry.get_sample_value(name, labels or {})
    return float(value or 0.0)


async def test_a_violation_reaches_alertmanager_with_evidence_then_resolves(
    targets: list[TargetProcess], tmp_path: Path, start_alertmanager: StartAlertmanager
) -> None:
    am, peer = await asyncio.gather(  # two Alertmanagers, as HA peers: each gets every alert
        asyncio.to_thread(start_alertmanager), asyncio.to_thread(start_alertmanager)
    )
    target = TargetProcess(tmp_path, "ref", ["overdraft"])
    targets.append(target)
    await target.start()
    config = {
        "targets": {"ref": {"url": target.url, "timeout": "5s"}},
        "suites": [_points_job("4s")],
        "alerting": {"sinks": [{"kind": "alertmanager", "name": "am",
                                "urls": [am.url, peer.url]}],
                     "resend_interval": "2s", "labels": {"env": "e2e"},
                     "runbook_base_url": "https://wiki.example/soakmon/runbooks"},
    }  # fmt: skip
    finished: list[RunFinished] = []
    async with running_daemon(config) as daemon:
        daemon.bus.on(RunFinished, finished.append)
        await wait_for(lambda: any(not r.passed for r in finished), 90, "a failing run")
        failed_at = next(r for r in finished if not r.passed).finished_at
        await wait_for(
            lambda: (
                am.alerts(alertname="SoakmonCheckFailed")
                and peer.alerts(alertname="SoakmonCheckFailed")
            ),
            10,
            "the alert in both Alertmanagers",
        )
        delay = time.time() - failed_at
        print(f"alert in both Alertmanagers {delay:.2f} s after the run ended")
        assert delay <= 10.5
        alerts = am.alerts(alertname="SoakmonCheckFailed")
        labels = {a["labels"]["check"]: a for a in alerts}
        negative = next(a for c, a in labels.items() if "never negative" in c)
        assert negative["labels"] == {
            "alertname": "SoakmonCheckFailed", "severity": "page", "env": "e2e",
            "suite": "points@ref", "scenario": DEDUCTION, "target": "ref",
            "check": negative["labels"]["check"],
        }  # fmt: skip
        description = negative["annotations"]["description"]
        assert "evidence (" in description, description
        assert re.search(r"-\d", description), description  # the negative balance it saw
        assert negative["annotations"]["runbook_url"] == (
            "https://wiki.example/soakmon/runbooks#invariant-violated"
        )
        page, _, anchor = negative["generatorURL"].partition("#")
        assert page == daemon.server.url + "/"  # type: ignore[union-attr]
        async with aiohttp.ClientSession() as http, http.get(page) as resp:
            html = await resp.text()
        assert f'id="{urllib.parse.unquote(anchor)}"' in html, "the link lands on the violation"

        # The same violation in the next run keeps its identity: still one alert per check.
        runs = len(finished)
        await wait_for(lambda: len(finished) > runs, 30, "another run")
        assert len(am.alerts(alertname="SoakmonCheckFailed")) == len(alerts)
        next_run = _sample(daemon, "soakmon_suite_next_run_timestamp_seconds",
                           {"suite": "points@ref"})  # fmt: skip
        assert time.time() - 5 < next_run < time.time() + 10, "the next slot, for overdue alerts"

        target.kill()
        target.faults = []
        await target.start()  # same port and database, without the fault
        await wait_for(lambda: finished[-1].passed, 60, "a passing run after the restart")
        await wait_for(
            lambda: (
                not am.alerts(alertname="SoakmonCheckFailed")
                and not peer.alerts(alertname="SoakmonCheckFailed")
            ),
            10,
            "the alert resolved in both",
        )
        assert _sample(daemon, "soakmon_alerts_active") == 0
        for server in (am, peer):
            receiver = f"am/127.0.0.1:{server.port}"
            sent = {"receiver": receiver, "result": "success"}
            assert _sample(daemon, "soakmon_alerts_sent_total", sent) >= 2


async def test_an_alertmanager_outage_delays_alerts_but_never_the_runs_or_the_soak(
    targets: list[TargetProcess], tmp_path: Path, start_alertmanager: StartAlertmanager
) -> None:
    am = await asyncio.to_thread(start_alertmanager)
    am.stop()  # down before the violation happens
    target = TargetProcess(tmp_path, "ref", ["overdraft"])
    targets.append(target)
    await target.start()
    config = {
        "targets": {"ref": {"url": target.url, "timeout": "5s"}},
        "suites": [_points_job("5s")],
        "soak": [{"name": "steady", "target": "ref", "rate": 20, "window": "1s",
                  "requests": [{"path": "/healthz"}]}],
        "alerting": {"sinks": [{"kind": "alertmanager", "urls": [am.url], "timeout": "2s"}],
                     "resend_interval": "3s", "backoff": {"initial": "0.5s", "max": "2s"}},
    }  # fmt: skip
    async with running_daemon(config) as daemon:
        suite = daemon.state.suites["points@ref"]
        soak = daemon.state.soaks["steady"]
        receiver = {"receiver": "alertmanager-0"}
        await wait_for(lambda: suite.failures_total >= 1, 90, "a failing run")
        down_from = time.monotonic()
        runs_before, soak_before = suite.runs_total, soak.get("requests_total", 0)
        await wait_for(
            lambda: _sample(daemon, "soakmon_alert_queue_length", receiver) > 0, 10, "a backlog"
        )
        await asyncio.sleep(max(0.0, 30 - (time.monotonic() - down_from)))
        errors = _sample(daemon, "soakmon_alerts_sent_total", {**receiver, "result": "error"})
        (shown,) = daemon.state.status()["alerts"]["receivers"]
        assert shown["queued"] > 0
        assert "Cannot connect" in shown["last_error"] or "refused" in shown["last_error"], shown
        assert errors >= 5, "the sink kept retrying"
        assert _sample(daemon, "soakmon_alert_queue_length", receiver) > 0
        # 30 s with a 5 s schedule: the runs kept going (a run takes a few seconds), no slot
        # was missed, and the soak kept its rate.
        assert suite.runs_total - runs_before >= 3, (runs_before, suite.runs_total)
        assert suite.missed_runs == 0
        assert soak.get("requests_total", 0) - soak_before >= 20 * 30 * 0.7

        print(f"during the 30 s outage: {suite.runs_total - runs_before} runs, "
              f"{suite.missed_runs} missed, {soak.get('requests_total', 0) - soak_before} soak "
              f"requests, {errors:g} failed posts")  # fmt: skip
        await asyncio.to_thread(am.start)
        back = time.monotonic()
        await wait_for(lambda: am.alerts(alertname="SoakmonCheckFailed"), 10, "alert after outage")
        print(f"alert in Alertmanager {time.monotonic() - back:.2f} s after it came back")
        await wait_for(
            lambda: _sample(daemon, "soakmon_alert_queue_length", receiver) == 0, 10, "drained"
        )
        assert _sample(daemon, "soakmon_alerts_dropped_total", receiver) == 0
        await wait_for(
            lambda: daemon.state.status()["alerts"]["receivers"][0]["last_error"] is None,
            5,
            "/api/status to show the receiver healthy again",
        )


async def test_prometheus_fires_the_latency_burn_rate_alert_only_for_the_slow_target(
    targets: list[TargetProcess],
    tmp_path: Path,
    start_prometheus: StartPrometheus,
    start_alertmanager: StartAlertmanager,
) -> None:
    am = await asyncio.to_thread(start_alertmanager)
    rules = tmp_path / "rules.yml"  # the shipped templates, windows shrunk 100-fold
    rules.write_text(render(Windows().scaled(0.01, min_requests=20)))
    slow = TargetProcess(tmp_path, "slow", ["slow"])
    clean = TargetProcess(tmp_path, "clean")
    targets += [slow, clean]
    await asyncio.gather(slow.start(), clean.start())
    config: dict[str, Any] = {
        "targets": {}, "soak": [], "probes": [], "slo": {"window": "10s"},
        "alerting": {"sinks": [{"kind": "alertmanager", "urls": [am.url]}]},
    }  # fmt: skip
    for t in (slow, clean):  # an authenticated API read (operational endpoints are never slow)
        token_file = tmp_path / f"{t.tag}.token"
        token_file.write_text(await t.register(f"soak-{t.tag}"))
        config["targets"][t.tag] = {"url": t.url, "credentials": {"token_file": str(token_file)}}
        config["soak"].append({"name": t.tag, "target": t.tag, "vus": 4, "window": "1s",
                               "requests": [{"path": "/points/my-points"}]})  # fmt: skip
    async with running_daemon(config) as daemon:
        assert daemon.server is not None
        prom = await asyncio.to_thread(
            start_prometheus, [f"127.0.0.1:{daemon.server.port}"], rule_files=[rules]
        )
        firing: list[dict[str, Any]] = []
        seen: list[dict[str, Any]] = []
        clean_alerts: list[dict[str, Any]] = []
        deadline = time.monotonic() + 90
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline and not firing:
                async with http.get(f"{prom.url}/api/v1/alerts") as resp:
                    seen = (await resp.json())["data"]["alerts"]
                firing = [a for a in seen if a["labels"]["alertname"] == "SoakmonLatencyBudgetBurn"
                          and a["state"] == "firing"]  # fmt: skip
                clean_alerts += [a for a in seen if a["labels"].get("target") == "clean"]
                await asyncio.sleep(1)
            assert firing, f"no latency burn alert fired; alerts: {seen}\n{prom.log()[-1500:]}"
            assert {a["labels"]["target"] for a in firing} == {"slow"}
            assert {a["labels"]["window"] for a in firing} >= {"1h"}
            # the clean target's soak is judged too (it has traffic) and stays inactive
            async with http.get(
                f"{prom.url}/api/v1/query",
                params={"query": 'target:soakmon_requests_slow:ratio_rate1h{target="clean"}'},
            ) as resp:
                clean_ratio = (await resp.json())["data"]["result"]
        # the daemon's own SLO verdict reached Alertmanager too, for the slow target only
        await wait_for(lambda: am.alerts(alertname="SoakmonSLOBroken"), 15, "SoakmonSLOBroken")
        slo_alerts = am.alerts(alertname="SoakmonSLOBroken")
        assert {(a["labels"]["target"], a["labels"]["check"]) for a in slo_alerts} == {
            ("slow", "p95")
        }
        assert "p95" in slo_alerts[0]["annotations"]["description"]
        assert clean_ratio, "the clean target's slow ratio is recorded"
        assert float(clean_ratio[0]["value"][1]) < 0.72
        assert not clean_alerts, "the clean target never had a pending or firing alert"


async def test_every_metric_in_every_rule_exists_in_a_live_daemon(reference_url: str) -> None:
    names: set[str] = set()
    for group in build_rules()["groups"]:
        for rule in group["rules"]:
            names |= set(re.findall(r"(?<![:\w])(soakmon_[a-z0-9_]+)(?![:\w])", rule["expr"]))
    assert "soakmon_request_duration_seconds_bucket" in names
    config = {
        "targets": {"ref": {"url": reference_url}},
        "soak": [{"name": "s", "target": "ref", "vus": 1, "requests": [{"path": "/healthz"}]}],
    }  # fmt: skip
    async with running_daemon(config) as daemon:
        assert daemon.server is not None
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{daemon.server.url}/metrics") as resp,
        ):
            text = await resp.text()
    exposed: set[str] = set()
    for family in text_string_to_metric_families(text):
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}
        exposed |= {family.name + s for s in suffixes.get(family.type, [""])}
        exposed |= {s.name for s in family.samples}
    missing = sorted(names - exposed)
    assert not missing, f"rules use metrics the daemon does not export: {missing}"
