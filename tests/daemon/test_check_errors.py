"""A check that could not be evaluated is an error, not a violation: the daemon raises no
CheckFailed (so no alert) for it, and the metrics count it apart."""

from __future__ import annotations

import random
from typing import Any

from prometheus_client import CollectorRegistry

from monitor.daemon.config.fields import ScheduleSpec
from monitor.daemon.config.suites import SuiteJob
from monitor.daemon.config.targets import Target
from monitor.daemon.jobs import SuiteLoop
from monitor.engine import RequestHooks
from monitor.events import CheckFailed, EventBus
from monitor.observe.metrics import MonitorMetrics
from monitor.suites.results import CheckResult, RunResult, ScenarioResult, SuiteResult


def _run() -> RunResult:
    broken = CheckResult.error("pool free", "pool free", "state.metrics has no key 'db_pool_size'")
    violated = CheckResult("never negative", False, "balance >= 0", "balance = -300")
    scenarios = [
        ScenarioResult.from_checks("load", "points", [broken]),
        ScenarioResult.from_checks("deduct", "points", [violated]),
    ]
    return RunResult("http://t", "now", 1.0, [SuiteResult("points", scenarios)])


async def test_only_violations_become_check_failed_events() -> None:
    bus = EventBus()
    failed: list[CheckFailed] = []
    bus.on(CheckFailed, failed.append)

    async def runner(*_: Any) -> RunResult:
        return _run()

    job = SuiteJob(suite="points", target="t", schedule=ScheduleSpec(every=60.0))
    loop = SuiteLoop(
        "points",
        job,
        Target(url="http://127.0.0.1:9"),
        bus=bus,
        hooks=RequestHooks(),
        rng=random.Random(1),
        runner=runner,
    )
    await loop.run_once()
    assert [(e.scenario, e.check.name) for e in failed] == [("deduct", "never negative")]


def test_errors_are_counted_apart_from_violations() -> None:
    registry = CollectorRegistry()
    metrics = MonitorMetrics(registry=registry)
    for scenario in _run().scenarios:
        for check in scenario.checks:
            metrics.record_check(
                suite="points", scenario=scenario.name, check=check.name,
                passed=check.passed, status=check.status,
            )  # fmt: skip
    labels = {"suite": "points", "scenario": "load", "check": "pool free", "target": ""}
    assert registry.get_sample_value("soakmon_check_errors_total", labels) == 1
    assert registry.get_sample_value("soakmon_check_violations_total", labels) is None
    bad = {"suite": "points", "scenario": "deduct", "check": "never negative", "target": ""}
    assert registry.get_sample_value("soakmon_check_violations_total", bad) == 1
