"""The alert book (identity, resends, resolution, evidence), delivery (queue, backoff, drops)
and both sinks against real HTTP servers on loopback."""

from __future__ import annotations

import asyncio
import logging
import random
import shutil
import ssl
import subprocess
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from monitor.alerts.book import AlertBook, describe
from monitor.alerts.config import AlertingConfig
from monitor.alerts.delivery import Delivery, backoff_delay
from monitor.alerts.model import iso
from monitor.alerts.service import AlertService, build_transports, send_direct
from monitor.events import CheckFailed, EventBus
from monitor.observe.metrics import MonitorMetrics
from monitor.suites.results import CheckResult


def _fail(book: AlertBook, now: float, evidence: list[str] | None = None, check: str = "c") -> None:
    book.check_failed(
        suite="points@ref", scenario="deduct", target="ref", check=check, message="broken",
        expected="balance >= 0", observed="-10", evidence=evidence or ["op 1", "op 2"], now=now,
    )  # fmt: skip


def test_the_same_violation_keeps_its_labels_and_is_resent_with_ends_at_ahead() -> None:
    book = AlertBook(resend_interval=60, extra_labels={"env": "prod"}, external_url="http://d")
    _fail(book, 1000.0)
    (first,) = book.due(1000.0)
    assert dict(first.labels) == {
        "env": "prod", "alertname": "SoakmonCheckFailed", "severity": "page",
        "suite": "points@ref", "scenario": "deduct", "check": "c", "target": "ref",
    }  # fmt: skip
    assert first.ends_at == 1180.0
    assert first.generator_url == "http://d/#violation-points%40ref-deduct-c"
    _fail(book, 1010.0)  # the next run fails the same way: nothing new to say
    assert book.due(1010.0) == []
    assert book.due(1059.0) == []
    (again,) = book.due(1060.0)
    assert again.labels == first.labels
    assert again.starts_at == 1000.0
    assert again.ends_at == 1240.0
    _fail(book, 1070.0, evidence=["op 3"])  # new evidence goes out at once
    (changed,) = book.due(1070.0)
    assert "op 3" in changed.annotations["description"]


def test_a_recovered_check_is_resolved_once_and_forgotten() -> None:
    book = AlertBook(resend_interval=60)
    _fail(book, 1000.0)
    book.due(1000.0)
    book.check_recovered(suite="points@ref", scenario="deduct", target="ref", check="c", now=1005)
    (resolved,) = book.due(1005.0)
    assert resolved.ends_at == 1005.0
    assert resolved.resolved_at(1005.0)
    assert book.active == 0
    assert book.due(2000.0) == []


def test_verdicts_fire_on_conclusive_failure_only_and_resolve_on_recovery() -> None:
    book = AlertBook(resend_interval=60)
    kw: dict[str, Any] = {"target": "ref", "message": "m", "expected": "< 500 ms"}
    book.verdict(name="p95", passed=True, conclusive=False, observed="n/a", now=1, **kw)
    assert book.due(1) == []
    book.verdict(name="p95", passed=False, conclusive=True, observed="612 ms", now=2, **kw)
    (alert,) = book.due(2)
    assert alert.labels["alertname"] == "SoakmonSLOBroken"
    assert alert.labels["check"] == "p95"
    book.verdict(name="p95", passed=False, conclusive=True, observed="640 ms", now=7, **kw)
    assert book.due(7) == [], "a drifting observed value waits for the next resend"
    book.verdict(name="memory_growth", passed=False, conclusive=True, observed="x", now=8, **kw)
    (memory,) = book.due(8)
    assert memory.labels["alertname"] == "SoakmonSoakAnalysisFailed"
    assert memory.labels["severity"] == "ticket"
    book.verdict(name="p95", passed=True, conclusive=True, observed="100 ms", now=9, **kw)
    (resolved,) = book.due(9)
    assert resolved.labels["check"] == "p95"
    assert resolved.ends_at == 9
    # traffic fell below the SLO's minimum: the memory alert is no longer vouched for; it is
    # not resent (it expires at its endsAt), and not resolved either
    book.verdict(name="memory_growth", passed=True, conclusive=False, observed="?", now=10, **kw)
    assert book.active == 0
    assert book.due(500) == []


def test_a_crashed_run_fires_and_the_next_completed_run_resolves() -> None:
    book = AlertBook(resend_interval=60)
    book.run_finished(suite="points@ref", target="ref", error="TimeoutError: too slow", now=1)
    (alert,) = book.due(1)
    assert alert.labels["alertname"] == "SoakmonSuiteRunError"
    assert alert.annotations["description"] == "TimeoutError: too slow"
    book.run_finished(suite="points@ref", target="ref", error=None, now=2)
    assert book.due(2)[0].ends_at == 2


def test_descriptions_keep_the_minimal_evidence_and_are_cut_sensibly() -> None:
    evidence = [f"deduct #{i}: 200 balance={100 - 30 * i} " + "x" * 500 for i in range(40)]
    text = describe("went negative", "b >= 0", "b = -20", evidence, lines=5, limit=1200,
                    more_at="http://d/#v")  # fmt: skip
    assert len(text) <= 1200
    assert text.startswith("went negative\nexpected: b >= 0\nobserved: b = -20\nevidence (40):")
    assert "deduct #0" in text
    assert "deduct #5" not in text
    assert all(len(line) <= 302 for line in text.splitlines())
    assert "http://d/#v" in text
    short = describe("m", "e", "o", evidence, lines=10, limit=400, more_at="http://d/#v")
    assert len(short) <= 400
    assert short.endswith("the full evidence is at http://d/#v")


def test_a_multi_line_cel_check_is_one_bounded_line_per_field() -> None:
    expr = (
        "state.final.balance - state.before.balance\n== params.completion_bonus\n" + "&& x " * 100
    )
    text = describe(f"{expr} is false", expr, "120 == 100", [], lines=5, limit=1200,
                    more_at="http://d/#v")  # fmt: skip
    lines = text.splitlines()
    assert len(lines) == 3  # message, expected, observed: no line per line of CEL
    assert lines[1].startswith("expected: state.final.balance - state.before.balance == params")
    assert all(len(line) <= 312 for line in lines)
    assert lines[2] == "observed: 120 == 100"


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(n, 1.0, 8.0, rng) for n in range(1, 8)]
    for n, d in enumerate(delays, start=1):
        base = min(8.0, 2.0 ** (n - 1))
        assert base / 2 <= d <= base
    assert max(delays) <= 8.0


def test_config_validation_names_the_problem(tmp_path: Any) -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        AlertingConfig.model_validate(
            {"sinks": [{"kind": "webhook", "url": "http://x", "bearer_token": {}}]}
        )
    with pytest.raises(ValidationError, match="`kind` must be one of: alertmanager, webhook"):
        AlertingConfig.model_validate({"sinks": [{"kind": "pager", "url": "http://x"}]})
    with pytest.raises(ValidationError, match="unique"):
        AlertingConfig.model_validate(
            {"sinks": [{"kind": "webhook", "url": "http://x", "name": "a"},
                       {"kind": "webhook", "url": "http://y", "name": "a"}]}
        )  # fmt: skip
    with pytest.raises(ValidationError, match="credentials do not belong in the URL"):
        AlertingConfig.model_validate(
            {"sinks": [{"kind": "alertmanager", "urls": ["https://u:p@am.example:9093"]}]}
        )
    with pytest.raises(ValidationError, match="no such file"):
        AlertingConfig.model_validate(
            {"sinks": [{"kind": "webhook", "url": "https://x",
                        "tls": {"ca_file": str(tmp_path / "missing.pem")}}]}
        )  # fmt: skip
    ok = AlertingConfig.model_validate(
        {"sinks": [{"kind": "alertmanager", "urls": ["http://a:9093", "http://b:9093"]}],
         "resend_interval": "30s"}
    )  # fmt: skip
    assert ok.resend_interval == 30.0
    assert ok.runbook_base_url == "docs/runbooks.md"


@pytest.mark.parametrize(
    ("base", "cause"),
    [
        ("https://wiki.example/rb#top", "no '#'"),
        ("https://u:p@wiki.example/rb", "credentials"),
        ("ftp://wiki.example/rb", "http"),
        ("my runbooks.md", "without spaces"),
    ],
)
def test_a_bad_runbook_base_is_refused_naming_the_field(base: str, cause: str) -> None:
    with pytest.raises(ValidationError, match=cause) as info:
        AlertingConfig.model_validate({"runbook_base_url": base})
    assert info.value.errors()[0]["loc"] == ("runbook_base_url",)


def test_the_configured_runbook_base_reaches_every_alert_the_daemon_sends() -> None:
    base = "https://wiki.example/ops/soakmon-runbooks"
    config = AlertingConfig.model_validate(
        {"sinks": [{"kind": "webhook", "url": "http://x"}], "runbook_base_url": base}
    )
    service = AlertService(config, metrics=MonitorMetrics(CollectorRegistry()))
    _fail(service.book, 1000.0)
    service.book.verdict(
        target="ref", name="error_rate", passed=False, conclusive=True,
        message="", expected="< 5 %", observed="9 %", now=1000.0,
    )  # fmt: skip
    links = sorted(a.annotations["runbook_url"] for a in service.book.due(1000.0))
    assert links == [f"{base}#invariant-violated", f"{base}#slo-broken"]
    default = AlertService(AlertingConfig(), metrics=MonitorMetrics(CollectorRegistry()))
    _fail(default.book, 1000.0)
    (alert,) = default.book.due(1000.0)
    assert alert.annotations["runbook_url"] == "docs/runbooks.md#invariant-violated"


class Recorder:
    """A loopback HTTP server recording what it is sent; can be told to fail or stall."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []
        self.headers: list[dict[str, str]] = []
        self.status = 200
        self.stall = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        if self.stall:
            await asyncio.sleep(self.stall)
        self.headers.append(dict(request.headers))
        self.bodies.append(await request.json())
        return web.Response(status=self.status, text="nope" if self.status >= 300 else "")


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[Recorder, str]]:
    rec = Recorder()
    app = web.Application()
    app.router.add_post("/{tail:.*}", rec.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield rec, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_webhook_payload_version_4_with_bearer_token_from_the_environment(
    recorder: tuple[Recorder, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rec, url = recorder
    monkeypatch.setenv("HOOK_TOKEN", "s3cret")
    cfg = AlertingConfig.model_validate(
        {"sinks": [{"kind": "webhook", "name": "chat", "url": f"{url}/hook",
                    "bearer_token": {"env": "HOOK_TOKEN"}}]}
    )  # fmt: skip
    book = AlertBook(external_url="http://daemon:9109")
    now = time.time()
    _fail(book, now)
    transports = build_transports(cfg, "http://daemon:9109")
    try:
        (result,) = await send_direct(transports, book.due(now))
    finally:
        for t in transports:
            await t.aclose()
    assert result.ok, result.error
    assert result.receiver == "chat"
    (body,) = rec.bodies
    assert rec.headers[0]["Authorization"] == "Bearer s3cret"
    assert body["version"] == "4"
    assert body["status"] == "firing"
    assert body["receiver"] == "chat"
    assert body["externalURL"] == "http://daemon:9109"
    assert body["groupLabels"] == {"alertname": "SoakmonCheckFailed", "suite": "points@ref",
                                   "target": "ref"}  # fmt: skip
    (alert,) = body["alerts"]
    assert alert["status"] == "firing"
    assert alert["labels"]["check"] == "c"
    assert len(alert["fingerprint"]) == 16


async def test_a_missing_secret_fails_the_post_without_showing_any_value(
    recorder: tuple[Recorder, str], tmp_path: Any
) -> None:
    rec, url = recorder
    cfg = AlertingConfig.model_validate(
        {"sinks": [{"kind": "alertmanager", "urls": [url],
                    "basic_auth": {"username": "u",
                                   "password": {"file": str(tmp_path / "pw")}}}]}
    )  # fmt: skip
    transports = build_transports(cfg, "")
    book = AlertBook()
    _fail(book, 1.0)
    (result,) = await send_direct(transports, book.due(1.0))
    assert result.error is not None
    assert "pw" in result.error
    assert rec.bodies == []
    (tmp_path / "pw").write_text("hunter2\n")
    (result,) = await send_direct(transports, book.due(200.0))
    for t in transports:
        await t.aclose()
    assert result.ok, result.error
    assert rec.headers[0]["Authorization"] == "Basic dTpodW50ZXIy"


async def test_a_failing_receiver_gets_retried_with_backoff_and_drops_the_oldest_when_full(
    recorder: tuple[Recorder, str],
) -> None:
    rec, url = recorder
    rec.status = 503
    metrics = MonitorMetrics(CollectorRegistry())
    cfg = AlertingConfig.model_validate({"sinks": [{"kind": "alertmanager", "urls": [url]}]})
    (transport,) = build_transports(cfg, "")
    delivery = Delivery(transport, metrics=metrics, size=3, backoff_initial=0.05,
                        backoff_max=0.2, rng=random.Random(0))  # fmt: skip
    book = AlertBook()
    for i in range(5):
        _fail(book, 1.0, check=f"c{i}")
    delivery.put(book.due(1.0))  # five alerts, room for three: c0 and c1 dropped
    sample = metrics.registry.get_sample_value
    name = {"receiver": "alertmanager-0"}
    assert sample("soakmon_alerts_dropped_total", name) == 2
    assert sample("soakmon_alert_queue_length", name) == 3
    stop = asyncio.Event()
    worker = asyncio.create_task(delivery.run(stop))
    try:
        for _ in range(250):  # three failed attempts (backoff 0.05 s doubling, capped 0.2 s)
            if len(rec.bodies) >= 3:
                break
            await asyncio.sleep(0.02)
        assert len(rec.bodies) >= 3
        assert sample("soakmon_alert_queue_length", name) == 3
        rec.status = 200
        await asyncio.wait_for(delivery.idle(), 5)
    finally:
        stop.set()
        await worker
        await transport.aclose()
    assert sample("soakmon_alerts_sent_total", {**name, "result": "error"}) >= 3
    assert sample("soakmon_alerts_sent_total", {**name, "result": "success"}) == 1
    assert sample("soakmon_alert_queue_length", name) == 0
    assert sorted(a["labels"]["check"] for a in rec.bodies[-1]) == ["c2", "c3", "c4"]


async def test_a_stalled_receiver_times_out_and_put_never_waits(
    recorder: tuple[Recorder, str],
) -> None:
    rec, url = recorder
    rec.stall = 1.5
    metrics = MonitorMetrics(CollectorRegistry())
    cfg = AlertingConfig.model_validate(
        {"sinks": [{"kind": "alertmanager", "urls": [url], "timeout": "0.3s"}]}
    )
    (transport,) = build_transports(cfg, "")
    delivery = Delivery(transport, metrics=metrics, backoff_initial=0.05, backoff_max=0.1)
    stop = asyncio.Event()
    worker = asyncio.create_task(delivery.run(stop))
    book = AlertBook()
    loop = asyncio.get_running_loop()
    try:
        for i in range(50):
            _fail(book, float(i), check=f"c{i % 5}", evidence=[f"run {i}"])
            started = loop.time()
            delivery.put(book.due(float(i)))
            assert loop.time() - started < 0.05
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)
        assert delivery.last_error is not None
        assert "no answer within 0.3 s" in delivery.last_error
        assert len(delivery) == 5, "the newest state of each alert, once"
    finally:
        stop.set()
        await worker
        await transport.aclose()


@pytest.mark.parametrize("resolve", [False, True])
async def test_the_service_follows_the_bus_and_resolves_on_shutdown_only_if_configured(
    recorder: tuple[Recorder, str], resolve: bool
) -> None:
    rec, url = recorder
    cfg = AlertingConfig.model_validate(
        {"sinks": [{"kind": "alertmanager", "urls": [url]}], "resolve_on_shutdown": resolve}
    )
    metrics = MonitorMetrics(CollectorRegistry())
    service = AlertService(cfg, metrics=metrics, external_url="http://d")
    bus = EventBus()
    service.subscribe(bus)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    check = CheckResult("no overdraft", False, "b >= 0", "b = -5", "went negative", ["op 1"])
    await bus.emit(CheckFailed("points@ref", "deduct", "ref", check, time.time()))
    for _ in range(100):
        if rec.bodies:
            break
        await asyncio.sleep(0.02)
    (first,) = rec.bodies[0]
    assert first["labels"]["check"] == "no overdraft"
    assert metrics.registry.get_sample_value("soakmon_alerts_active") == 1
    stop.set()
    await task
    last = rec.bodies[-1][0]
    resolved = last["endsAt"] <= iso(time.time())
    assert resolved is resolve, (resolve, last)
    assert len(rec.bodies) == (2 if resolve else 1)


async def test_tls_verifies_with_the_configured_ca_and_fails_without_it(tmp_path: Any) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    await asyncio.to_thread(
        subprocess.run,
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    rec = Recorder()
    app = web.Application()
    app.router.add_post("/{tail:.*}", rec.handle)
    server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ssl.load_cert_chain(str(cert), str(key))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ssl)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"https://127.0.0.1:{port}"
    book = AlertBook()
    _fail(book, time.time())
    alerts = book.due(time.time())
    results = {}
    try:
        for name, tls in (("ca", {"ca_file": str(cert)}), ("system", None),
                          ("skip", {"insecure_skip_verify": True})):  # fmt: skip
            sink: dict[str, Any] = {"kind": "alertmanager", "name": name, "urls": [url]}
            if tls is not None:
                sink["tls"] = tls
            transports = build_transports(AlertingConfig.model_validate({"sinks": [sink]}), "")
            (results[name],) = await send_direct(transports, alerts)
            for t in transports:
                await t.aclose()
    finally:
        await runner.cleanup()
    assert results["ca"].ok, results["ca"].error
    assert results["skip"].ok, results["skip"].error
    assert results["system"].error is not None
    assert "certificate" in results["system"].error.lower(), results["system"].error
    assert len(rec.bodies) == 2


async def test_secrets_never_reach_the_log(
    recorder: tuple[Recorder, str], monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    rec, url = recorder
    rec.status = 401
    monkeypatch.setenv("AM_PASSWORD", "pa55-do-not-log")
    cfg = AlertingConfig.model_validate(
        {"sinks": [{"kind": "alertmanager", "urls": [url],
                    "basic_auth": {"username": "u", "password": {"env": "AM_PASSWORD"}}}]}
    )  # fmt: skip
    metrics = MonitorMetrics(CollectorRegistry())
    (transport,) = build_transports(cfg, "")
    delivery = Delivery(transport, metrics=metrics, backoff_initial=0.05, backoff_max=0.05)
    book = AlertBook()
    _fail(book, time.time())
    delivery.put(book.due(time.time()))
    stop = asyncio.Event()
    caplog.set_level(logging.DEBUG)
    worker = asyncio.create_task(delivery.run(stop))
    for _ in range(200):
        if len(rec.bodies) >= 2:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await worker
    await transport.aclose()
    assert delivery.last_error is not None
    assert "HTTP 401" in delivery.last_error
    logged = caplog.text + delivery.last_error + repr(cfg)
    assert "HTTP 401" in caplog.text
    for secret in ("pa55-do-not-log", "dTpwYTU1LWRvLW5vdC1sb2c="):
        assert secret not in logged
