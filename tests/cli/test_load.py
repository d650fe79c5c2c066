"""``soakmon load`` end to end, as a user runs it: a subprocess against a loopback server."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from typer.testing import CliRunner

from tests.engine.servers import closed_port_url, serve_app

SOAKMON = [sys.executable, "-c", "from monitor.cli.app import main; main()", "load"]
"""The real console entry point (registers every command)."""
LOAD_ONLY = [
    sys.executable,
    "-c",
    "import monitor.cli.load; from monitor.cli.app import app; app()",
    "load",
]
"""The same Typer app with only ``load`` registered: the other commands' imports take
seconds on a loaded machine and are not what these tests are about."""


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


async def soakmon_load(*args: str, entry: list[str] = LOAD_ONLY) -> Run:
    proc = await asyncio.create_subprocess_exec(
        *entry, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


@pytest.fixture
async def target() -> AsyncIterator[str]:
    async def ping(request: web.Request) -> web.Response:
        return web.json_response({"method": request.method})

    async def echo(request: web.Request) -> web.Response:
        body = await request.json()
        ok = body == {"amount": 3} and request.headers.get("X-Token") == "t1"
        return web.Response(status=201 if ok else 400)

    app = web.Application()
    app.router.add_get("/ping", ping)
    app.router.add_post("/echo", echo)
    async with serve_app(app) as url:
        yield url


@pytest.mark.slow
async def test_closed_model_run_writes_a_sensible_json_report(target: str, tmp_path: Path) -> None:
    report = tmp_path / "out" / "load.json"
    run = await soakmon_load(
        "--target", target, "--path", "/ping", "--vus", "3", "--duration", "1s",
        "--json", str(report), "--quiet", entry=SOAKMON,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert run.stdout == ""
    doc = json.loads(report.read_text())
    req, ex = doc["requests"], doc["executor"]
    assert doc["schema_version"] == 1
    assert doc["target"] == target
    assert doc["mode"] == "shared"
    assert doc["fast_path"] is True
    assert doc["stopped_by"] is None  # it ran its course
    assert req["total"] > 20
    assert req["success_count"] == req["total"]
    assert req["error_count"] == 0
    assert req["status_codes"] == {"200": req["total"]}
    assert 0 < req["latency_ms"]["p50"] <= req["latency_ms"]["p99"] <= req["latency_ms"]["max"]
    assert ex["executor"] == "constant-vus"
    assert ex["iterations"] == req["total"]
    assert ex["vus_max"] == 3
    assert ex["dropped"] == 0
    assert 0.9 <= ex["duration_s"] < 5
    assert ex["achieved_rate"] == pytest.approx(req["total"] / ex["active_s"], rel=0.01)


@pytest.mark.slow
async def test_open_model_with_body_headers_and_summary_table(target: str, tmp_path: Path) -> None:
    report = tmp_path / "load.json"
    run = await soakmon_load(
        "--target", target, "--method", "post", "--path", "/echo", "--body", '{"amount": 3}',
        "--header", "X-Token: t1", "--rate", "40", "--duration", "1s", "--mode", "per-request",
        "--json", str(report),
    )  # fmt: skip
    assert run.code == 0, run.stderr
    doc = json.loads(report.read_text())
    assert doc["requests"]["status_codes"] == {"201": 40}
    assert doc["executor"]["executor"] == "constant-arrival-rate"
    assert doc["executor"]["iterations"] == 40
    assert doc["mode"] == "per-request"
    assert doc["fast_path"] is False
    for word in ("requests", "status codes", "201: 40", "p99", "dropped"):
        assert word in run.stdout
    assert "Traceback" not in run.stderr


BAD_ARGS = [
    (["--vus", "2", "--rate", "5"], "either --vus"),
    (["--duration", "soon"], "invalid duration 'soon'"),
    (["--duration", "0s"], "--duration must be longer than 0"),
    (["--target", "ftp://example"], "invalid target URL 'ftp://example'"),
    (["--target", "localhost"], "invalid target URL 'localhost'"),
    (["--header", "NoColon"], "--header 'NoColon': expected NAME:VALUE"),
    (["--body", "{oops"], "--body is not valid JSON"),
    (["--mode", "pooled"], "unknown connection mode 'pooled'"),
    (["--vus", "0"], "--vus must be >= 1"),
    (["--max-vus", "3"], "--max-vus only applies with --rate"),
    (["--timeout", "0"], "--timeout must be > 0"),
    (["--header", "X-A: b\rc"], "header 'X-A': names and values cannot hold line breaks"),
    (["--sync", "tight"], "--sync: unknown sync mode 'tight'"),
    (["--sync", "last-byte", "--rate", "5"], "--sync sends rounds of --vus synchronised"),
    (["--ca-file", "/no/such/ca.pem"], "CA file /no/such/ca.pem"),
    (["--rounds", "5"], "--rounds needs --sync"),
    (["--processes", "0"], "--processes must be >= 1, got 0"),
    (["--processes", "many"], "--processes must be a number or auto, got 'many'"),
    (["--processes", "2", "--vus", "2", "--sync", "last-byte"], "--processes applies to plain"),
]


def argv_with(args: list[str]) -> list[str]:
    base = {"--target": "http://127.0.0.1:9", "--duration": "1s"}
    for key, value in zip(args[::2], args[1::2], strict=True):
        base[key] = value
    return [item for pair in base.items() for item in pair]


@pytest.mark.slow
async def test_bad_arguments_exit_2_with_a_clear_message() -> None:
    run = await soakmon_load(*argv_with(BAD_ARGS[0][0]))
    assert run.code == 2, (run.stdout, run.stderr)
    assert "use either --vus (closed model) or --rate (open model), not both" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(("args", "message"), BAD_ARGS)
def test_every_bad_argument_is_named(args: list[str], message: str) -> None:
    """The same checks in-process (a subprocess per case would be slow)."""
    import monitor.cli.load  # noqa: F401  (registers the command)
    from monitor.cli.app import app

    result = CliRunner().invoke(app, ["load", *argv_with(args)])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.slow
async def test_unreachable_target_exits_3(tmp_path: Path) -> None:
    report = tmp_path / "load.json"
    url = closed_port_url()
    run = await soakmon_load(
        "--target", url, "--vus", "2", "--duration", "300ms", "--json", str(report), "--quiet",
    )  # fmt: skip
    assert run.code == 3
    assert f"target unreachable: every request to {url} failed to connect" in run.stderr
    assert "connection refused" in run.stderr
    doc = json.loads(report.read_text())
    assert doc["requests"]["total"] == doc["requests"]["error_count"] > 0


@pytest.mark.slow
async def test_ctrl_c_stops_gracefully_with_a_report(target: str, tmp_path: Path) -> None:
    report = tmp_path / "load.json"
    proc = await asyncio.create_subprocess_exec(
        *LOAD_ONLY, "--target", target, "--path", "/ping", "--rate", "50", "--duration", "60s",
        "--json", str(report), "--quiet",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(300):  # the report file is created before the run starts
            if report.exists():
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    doc = json.loads(report.read_text())
    assert doc["requests"]["total"] >= 20
    assert doc["requests"]["error_count"] == 0
    assert doc["duration_s"] < 30
    # a run cut short says so: its figures cover seconds, not the minute asked for
    assert doc["stopped_by"] == "SIGINT"
    assert "stopped by SIGINT after " in err.decode()
    assert " s of 60 s" in err.decode()


async def test_sync_rounds_report_how_tightly_each_round_was_sent(
    target: str, tmp_path: Path
) -> None:
    report = tmp_path / "load.json"
    run = await soakmon_load(
        "--target", target, "--path", "/ping", "--vus", "5", "--duration", "20s",
        "--rounds", "7", "--sync", "last-byte", "--mode", "per-user", "--json", str(report),
    )  # fmt: skip
    assert run.code == 0, run.stderr
    doc = json.loads(report.read_text())
    delivery = doc["delivery"]
    assert doc["executor"]["executor"] == "sync-rounds"
    assert delivery["sync"] == "last-byte"
    assert delivery["requests_per_round"] == 5
    assert delivery["rounds"] == doc["executor"]["iterations"] == 7
    assert doc["requests"]["total"] == 5 * delivery["rounds"]
    assert doc["requests"]["success_count"] == doc["requests"]["total"]
    spread = delivery["send_spread_s"]
    assert spread["count"] == delivery["rounds"]
    assert 0 < spread["median"] <= spread["p90"] <= spread["max"]
    assert "send spread" in run.stdout
    assert "median=" in run.stdout
