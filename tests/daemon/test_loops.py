"""Loops publish, the status API and the metrics subscribe: a loop that fails on its
configuration is ``failed`` (status, metric, one log line) and not restarted; a new probe kind
is one new file."""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys
import textwrap
from pathlib import Path

import aiohttp
import pytest

from monitor.daemon.config import load_config
from monitor.observe.probes.registry import PROBE_KINDS
from monitor.suites.errors import ConfigError
from tests.daemon.conftest import running_daemon, wait_for


async def _get(url: str) -> tuple[dict[str, object], str]:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/api/status") as resp:
            status = await resp.json()
        async with http.get(f"{url}/metrics") as resp:
            metrics = await resp.text()
    return status, metrics


async def test_a_loop_with_a_bad_operation_at_run_time_is_failed_and_not_restarted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Validation at load would refuse this config; building it directly injects the bad
    # operation as if the profile had changed under a running daemon.
    config = {
        "targets": {"t": {"url": "http://127.0.0.1:9", "profile": "reference"}},
        "soak": [{"name": "bad", "target": "t", "vus": 1, "operations": [{"op": "nope.op"}]}],
        "probes": [],
    }
    with caplog.at_level(logging.INFO, logger="monitor.daemon.supervisor"):
        async with running_daemon(config) as daemon:
            assert daemon.server is not None
            url = daemon.server.url
            await wait_for(
                lambda: daemon.state.failed_loops == ["soak:bad"], 5, "the loop failed", 0.02
            )
            # two restart backoffs (0.5 s, 1 s) later it is still failed, never restarted
            await asyncio.sleep(1.6)
            status, metrics = await _get(url)
    tasks = status["tasks"]
    assert isinstance(tasks, dict)
    assert tasks["soak:bad"]["state"] == "failed"
    assert tasks["soak:bad"]["restarts"] == 0
    assert "does not map operation(s): nope.op" in tasks["soak:bad"]["last_error"]
    assert status["failed_loops"] == ["soak:bad"]
    assert status["healthy"] is False
    assert 'soakmon_loop_failed{loop="soak:bad"} 1.0' in metrics
    lines = [r for r in caplog.records if "soak:bad" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert "failed (not restarted)" in lines[0].getMessage()


PLUGIN = '''
"""A probe kind in one file: reports a constant."""

from monitor.observe.probes.registry import ProbeSettings, probe_kind


class ConstantProbe:
    def __init__(self, name: str, value: float) -> None:
        self.name, self.value = name, value

    async def read(self) -> dict[str, float]:
        return {"memory_bytes": self.value}


class ConstantSettings(ProbeSettings):
    value: float


@probe_kind("constant", settings=ConstantSettings)
def build(name: str, settings: ConstantSettings) -> ConstantProbe:
    """A constant memory reading."""
    return ConstantProbe(name, settings.value)
'''


async def test_a_new_probe_kind_is_one_new_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "constant_probe.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    config = tmp_path / "daemon.yaml"
    config.write_text(
        "targets: {t: {url: 'http://127.0.0.1:9'}}\n"
        "probes:\n"
        "  - {name: const, kind: constant, target: t, every: 0.05, value: 42}\n"
    )
    with PROBE_KINDS.replaced():  # the registry is restored after the test
        with pytest.raises(ConfigError, match="unknown probe kind 'constant'"):
            load_config(config)
        importlib.import_module("constant_probe")
        cfg = load_config(config)  # the kind's own fields are validated at load...
        bad = tmp_path / "bad.yaml"
        bad.write_text(config.read_text().replace("value: 42", "value: lots"))
        with pytest.raises(ConfigError, match=r"bad.yaml:3: probes\[0\].value: "):
            load_config(bad)
        async with running_daemon(cfg.model_dump(mode="json")) as daemon:  # ...and it runs
            assert daemon.server is not None
            await wait_for(
                lambda: daemon.state.probes["const"].get("values") == {"memory_bytes": 42.0},
                5,
                "a reading",
                0.02,
            )
            _, metrics = await _get(daemon.server.url)
    sys.modules.pop("constant_probe", None)
    assert 'soakmon_target_memory_bytes{probe="const",target="t"} 42.0' in metrics


def test_a_scheduled_suite_exports_its_next_run_and_zero_missed_runs() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from monitor.daemon.exporter import MetricsExporter
    from monitor.events import EventBus, SuiteScheduled
    from monitor.observe.metrics import MonitorMetrics

    metrics = MonitorMetrics(CollectorRegistry())
    bus = EventBus()
    MetricsExporter(metrics).subscribe(bus)
    bus.publish(SuiteScheduled("points@t", "t", 1_700_000_000.0, 0, 1.0))
    text = generate_latest(metrics.registry).decode()
    assert 'soakmon_suite_missed_runs_total{suite="points@t"} 0.0' in text
    bus.publish(SuiteScheduled("points@t", "t", 1_700_000_060.0, 2, 2.0))
    text = generate_latest(metrics.registry).decode()
    assert 'soakmon_suite_missed_runs_total{suite="points@t"} 2.0' in text
