"""The shipped Alertmanager example, loaded by a real Alertmanager, and `soakmon alerts test`."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
import yaml

from monitor.alerts.model import Alert, to_v2
from tests.plugins.alertmanager import StartAlertmanager
from tests.plugins.prometheus import free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "alertmanager" / "alertmanager.example.yml"
SOAKMON = [sys.executable, "-c", "from monitor.cli.app import main; main()"]


def _amtool(*args: str) -> str:
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.skip("amtool is not installed (apt-get install prometheus-alertmanager)")
    out = subprocess.run([amtool, *args], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_the_example_is_valid_and_routes_by_severity() -> None:
    assert "SUCCESS" in _amtool("check-config", str(EXAMPLE))
    config = f"--config.file={EXAMPLE}"
    routes = {
        "page": "soakmon-pager",
        "ticket": "soakmon-tickets",
        "info": "soakmon-tickets",
    }
    for severity, receiver in routes.items():
        got = _amtool("config", "routes", "test", config, f"severity={severity}", "target=ref")
        assert got.strip() == receiver, (severity, got)


async def test_inhibitions_target_down_and_the_daemons_alert_over_the_rules_one(
    start_alertmanager: StartAlertmanager,
) -> None:
    am = await asyncio.to_thread(start_alertmanager, EXAMPLE.read_text())
    now = time.time()

    def alert(name: str, target: str, **labels: str) -> Alert:
        return Alert({"alertname": name, "target": target, "severity": "page", **labels},
                     {"summary": name}, now, now + 300)  # fmt: skip

    alerts = [
        alert("SoakmonTargetDown", "ref"),
        alert("SoakmonCheckFailed", "ref", suite="points@ref", check="balance never negative"),
        alert("SoakmonLatencyBudgetBurn", "ref", window="1h"),
        alert("SoakmonCheckFailed", "other", suite="points@other", check="c"),
        alert("SoakmonInvariantViolated", "other", suite="points@other", check="c"),
        alert("SoakmonInvariantViolated", "other", suite="points@other", check="d"),
    ]
    body = json.dumps([to_v2(a) for a in alerts])
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{am.url}/api/v2/alerts", data=body,
                  headers={"Content-Type": "application/json"}) as resp,
    ):  # fmt: skip
        assert resp.status == 200, await resp.text()
    deadline = time.monotonic() + 10
    state: dict[tuple[str, str], list[str]] = {}
    while time.monotonic() < deadline:
        state = {
            (a["labels"]["alertname"], a["labels"]["target"], a["labels"].get("check", "")): a[
                "status"
            ]["inhibitedBy"]
            for a in am.alerts()
        }
        if len(state) == 6 and state[("SoakmonCheckFailed", "ref", "balance never negative")]:
            break
        await asyncio.sleep(0.2)
    assert state[("SoakmonCheckFailed", "ref", "balance never negative")], state
    assert state[("SoakmonLatencyBudgetBurn", "ref", "")], state
    assert not state[("SoakmonCheckFailed", "other", "c")], state
    assert not state[("SoakmonTargetDown", "ref", "")], state
    # the daemon's alert (with evidence) stands in for the rule-based one on the same check
    assert state[("SoakmonInvariantViolated", "other", "c")], state
    assert not state[("SoakmonInvariantViolated", "other", "d")], state


async def test_soakmon_alerts_test_reports_each_receiver_and_exits_4_if_any_failed(
    start_alertmanager: StartAlertmanager, tmp_path: Path
) -> None:
    am = await asyncio.to_thread(start_alertmanager)
    dead = f"http://127.0.0.1:{free_port()}"
    config = tmp_path / "daemon.yaml"
    config.write_text(yaml.safe_dump({
        "targets": {"ref": {"url": "http://127.0.0.1:1"}},
        "alerting": {"labels": {"env": "staging"}, "sinks": [
            {"kind": "alertmanager", "name": "am", "urls": [am.url]},
            {"kind": "webhook", "name": "chat", "url": f"{dead}/hook", "timeout": "2s"},
        ]},
    }))  # fmt: skip
    out = await asyncio.to_thread(
        subprocess.run, [*SOAKMON, "alerts", "test", "--config", str(config)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 4, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert "ok      am" in lines
    assert any(line.startswith(f"FAILED  chat: {dead}/hook: ") for line in lines), lines
    (test_alert,) = am.alerts(alertname="SoakmonTestAlert")
    assert test_alert["labels"]["env"] == "staging"
    assert test_alert["labels"]["severity"] == "info"

    config.write_text(yaml.safe_dump({"targets": {"ref": {"url": "http://127.0.0.1:1"}}}))
    empty = await asyncio.to_thread(
        subprocess.run, [*SOAKMON, "alerts", "test", "-c", str(config)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert empty.returncode == 2
    assert "alerting.sinks is empty" in empty.stderr


def test_a_bad_alerting_section_is_rejected_at_load_naming_line_and_field(tmp_path: Path) -> None:
    config = tmp_path / "daemon.yaml"
    config.write_text(
        "targets:\n  ref: {url: 'http://127.0.0.1:1'}\n"
        "alerting:\n  sinks:\n"
        "    - kind: alertmanager\n      urls: ['alertmanager:9093']\n"
        "    - {kind: pager, url: 'http://x'}\n"
        "    - {kind: webhook, url: 'http://x', bearer_token: {env: A, file: /a}}\n"
    )
    out = subprocess.run([*SOAKMON, "validate", str(config)], capture_output=True, text=True,
                         check=False)  # fmt: skip
    assert out.returncode == 2
    text = out.stdout + out.stderr
    assert f"{config}:6: alerting.sinks[0].urls[0]: " in text, text
    assert f"{config}:7: alerting.sinks[1]: `kind` must be one of: alertmanager, webhook" in text
    assert f"{config}:8: alerting.sinks[2].bearer_token: give `env` or `file`" in text
