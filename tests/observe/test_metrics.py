"""The monitor's metrics pass promtool and carry what a Prometheus user expects."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from prometheus_client import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from monitor.observe.metrics import MonitorMetrics


def _fill(m: MonitorMetrics) -> None:
    m.observe_request(
        suite="points", scenario="deduct", operation="points.deduct", outcome="ok",
        seconds=0.012, trace_id="4bf92f3577b34da6a3ce929d0e0e4736", target="staging",
    )  # fmt: skip
    m.observe_request(
        suite="points", scenario="deduct", operation="points.deduct", outcome="error",
        seconds=0.7,
    )  # fmt: skip
    m.record_check(
        suite="points", scenario="deduct", check="no_overdraft", passed=False, target="staging"
    )
    m.record_check(
        suite="points", scenario="deduct", check="conservation", passed=True, target="staging"
    )
    m.record_run(suite="points", passed=False, seconds=3.2, finished_at=1_800_000_000)
    m.set_pool("staging", {"pool_size": 10, "pool_in_use": 4, "pool_waiting": 0})
    m.target_memory.labels("staging", "pod").set(2.5e8)
    m.resident_memory.set(6e7)
    m.chaos_actions.labels("pod-kill", "ok").inc()
    m.chaos_active.labels("staging").set(1)
    m.record_attempt(suite="points", scenario="deduct", target="staging", result="weak")
    m.record_attempt(suite="points", scenario="deduct", target="staging", result="violated")
    m.record_phase_spread(
        suite="points", scenario="deduct", target="staging", sync="last-byte",
        send_s=84e-6, arrival_s=310e-6,
    )  # fmt: skip


def test_promtool_check_metrics_is_clean() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (make test installs prometheus)")
    m = MonitorMetrics()
    _fill(m)
    out = subprocess.run(
        [promtool, "check", "metrics"],
        input=generate_latest(m.registry),
        capture_output=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout.decode() + out.stderr.decode()
    assert out.stdout.decode().strip() == ""


def test_series_names_labels_and_exemplars() -> None:
    m = MonitorMetrics()
    _fill(m)
    text = generate_latest(m.registry).decode()
    assert (
        'soakmon_requests_total{operation="points.deduct",outcome="ok",scenario="deduct",'
        'suite="points",target="staging"} 1.0' in text
    )
    assert (
        'soakmon_check_violations_total{check="no_overdraft",scenario="deduct",suite="points",'
        'target="staging"} 1.0' in text
    )
    assert (
        'soakmon_check_passing{check="conservation",scenario="deduct",suite="points",'
        'target="staging"} 1.0' in text
    )
    assert 'soakmon_target_db_pool_in_use{target="staging"} 4.0' in text
    assert (
        'soakmon_phase_start_spread_seconds_bucket{le="0.0001",measured="send",scenario="deduct",'
        'suite="points",sync="last-byte",target="staging"} 1.0' in text
    )
    assert (
        'soakmon_phase_start_spread_seconds_bucket{le="0.00025",measured="arrival",'
        'scenario="deduct",suite="points",sync="last-byte",target="staging"} 0.0' in text
    )
    assert (
        'soakmon_scenario_attempts_total{result="weak",scenario="deduct",suite="points",'
        'target="staging"} 1.0' in text
    )
    om = generate_openmetrics(m.registry).decode()
    assert '# {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 0.012' in om


def test_operation_labels_are_capped() -> None:
    m = MonitorMetrics(max_operations=3)
    for i in range(10):
        m.observe_request(
            suite="s", scenario="c", operation=f"GET /items/{i}", outcome="ok", seconds=0.001
        )
    text = generate_latest(m.registry).decode()
    ops = {line.split('operation="')[1].split('"')[0] for line in text.splitlines()
           if line.startswith("soakmon_requests_total{")}  # fmt: skip
    assert ops == {"GET /items/0", "GET /items/1", "GET /items/2", "other"}
