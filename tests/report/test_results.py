"""The result model: status rules, timeline sampling, histograms, and the engine helpers."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass

from monitor.suites.results import (
    MAX_TIMELINE_POINTS,
    CheckResult,
    RunResult,
    ScenarioResult,
    SuiteResult,
    bounded,
    from_json,
    histogram_from,
    timeline_from,
    to_json,
)
from tests.report.sample import engine_run, hand_run


@dataclass
class Rec:
    name: str
    start: float
    duration_ms: float
    status: int | None
    error: str | None = None


def _ok(name: str = "a") -> CheckResult:
    return CheckResult(name, True, "x", "x")


def _bad(name: str = "b") -> CheckResult:
    return CheckResult(name, False, "x", "y")


def test_status_rules_skipped_neither_passes_nor_fails() -> None:
    passed = ScenarioResult.from_checks("p", "s", [_ok()])
    failed = ScenarioResult.from_checks("f", "s", [_ok(), _bad()])
    skipped = ScenarioResult.skipped("k", "s", "operation gift.claim not mapped")
    assert (passed.status, failed.status, skipped.status) == ("passed", "failed", "skipped")
    assert not skipped.passed
    assert failed.failed_checks == [_bad()]
    assert SuiteResult("s", [passed, skipped]).passed
    assert not SuiteResult("s", [passed, failed]).passed
    run = RunResult("t", "now", 1.0, [SuiteResult("a", [passed, skipped]), SuiteResult("b", [])])
    assert run.passed
    assert run.counts == {"passed": 1, "failed": 0, "error": 0, "skipped": 1}
    run.suites.append(SuiteResult("c", [failed]))
    assert not run.passed
    assert run.counts == {"passed": 1, "failed": 1, "error": 0, "skipped": 1}


def test_tri_state_checks_an_error_is_not_a_violation() -> None:
    error = CheckResult.error("pool", "pool free", "state.metrics has no key 'db_pool_size'")
    na = CheckResult.not_applicable("versions", "profile provides no tasks.version")
    assert (error.status, error.passed, error.violated) == ("error", False, False)
    assert (na.status, na.passed, na.violated) == ("not_applicable", False, False)
    errored = ScenarioResult.from_checks("e", "s", [_ok(), error, na])
    assert errored.status == "error"
    assert errored.failed_checks == []
    assert errored.error_checks == [error]
    both = ScenarioResult.from_checks("b", "s", [_bad(), error])
    assert both.status == "failed"  # a violation outranks an error
    only_na = ScenarioResult.from_checks("n", "s", [na])
    assert only_na.status == "skipped"
    assert "profile provides no tasks.version" in (only_na.skip_reason or "")
    with_na = ScenarioResult.from_checks("w", "s", [_ok(), na])
    assert with_na.status == "passed"
    run = RunResult("t", "now", 1.0, [SuiteResult("a", [with_na, errored])])
    assert (run.passed, run.status) == (False, "error")
    doc = to_json(run)
    assert doc["status"] == "error"
    checks = doc["suites"][0]["scenarios"][1]["checks"]
    assert [c["status"] for c in checks] == ["passed", "error", "not_applicable"]
    assert [c["passed"] for c in checks] == [True, False, False]
    back = from_json(doc)
    assert [c.status for c in back.scenarios[1].checks] == ["passed", "error", "not_applicable"]
    assert back.scenarios[1].status == "error"


def test_a_scenario_without_checks_does_not_pass() -> None:
    assert ScenarioResult.from_checks("empty", "s", []).status == "failed"


def test_timeline_is_bounded_sorted_and_keeps_failures() -> None:
    records = [
        Rec("op", 100.0 + i * 0.001, float(i % 50), 500 if i % 97 == 0 else 200)
        for i in reversed(range(10_000))
    ]
    records.append(Rec("op", 100.5, 2_000.0, None, "timeout after 2.0 s"))
    timeline = timeline_from(records)
    assert len(timeline) == MAX_TIMELINE_POINTS
    offsets = [t.offset_s for t in timeline]
    assert offsets == sorted(offsets)
    assert offsets[0] == 0.0
    assert offsets[-1] > 9.0  # spread over the whole run, not just its beginning
    failures = [t for t in timeline if not t.ok]
    assert len(failures) == 1 + len([i for i in range(10_000) if i % 97 == 0])  # all kept
    assert any(t.latency_ms == 2_000.0 for t in failures)
    assert timeline == timeline_from(records)  # deterministic


def test_timeline_keeps_everything_when_small_and_caps_failures_at_half() -> None:
    few = [Rec("op", float(i), 1.0, 200) for i in range(10)]
    assert len(timeline_from(few)) == 10
    all_bad = [Rec("op", float(i), 1.0, 503) for i in range(5_000)]
    sampled = timeline_from(all_bad, max_points=100)
    assert len(sampled) == 50
    assert not any(t.ok for t in sampled)
    assert timeline_from([]) == []


def test_histogram_buckets_are_contiguous_and_count_everything() -> None:
    values = [1.0 + (i * 37 % 1000) / 10 for i in range(5_000)] + [480.0]
    buckets = histogram_from(values)
    assert sum(b.count for b in buckets) == len(values)
    assert 5 <= len(buckets) <= 31
    assert buckets[0].lower_ms <= min(values)
    assert buckets[-1].upper_ms > max(values)
    widths = {round(b.upper_ms - b.lower_ms, 6) for b in buckets}
    assert len(widths) == 1
    for a, b in itertools.pairwise(buckets):
        assert a.upper_ms == b.lower_ms
    assert histogram_from([]) == []
    assert [b.count for b in histogram_from([7.0, 7.0])] == [2]


async def test_helpers_build_scenario_data_from_real_engine_results() -> None:
    run = await engine_run(repeat=40, rounds=2)
    sc = run.scenarios[0]
    req = sc.requests
    assert req["total"] == 80
    assert req["error_count"] == 80 // 7  # every 7th answer is a 500
    assert req["status_codes"] == {"200": 80 - 80 // 7, "500": 80 // 7}
    assert set(req["latency_ms"]) == {"p50", "p95", "p99", "max"}
    assert req["latency_ms"]["max"] >= 30.0  # every 5th request is slowed by 30 ms
    assert len(sc.timeline) == 80
    assert sum(not t.ok for t in sc.timeline) == 80 // 7
    assert sum(b.count for b in sc.histogram) == 80
    assert sc.status == "failed"
    assert "HTTP 500" in sc.checks[0].evidence[0]


def test_hand_run_shape() -> None:
    run = hand_run()
    assert [s.status for s in run.scenarios] == ["failed", "passed", "skipped"]


def test_report_values_are_bounded() -> None:
    big = {"ledger": [{"amount": i, "reason": "x" * 500} for i in range(1000)], "n": 1}
    out = bounded(big)
    assert len(out["ledger"]) == 9
    assert out["ledger"][-1] == "… and 992 more"
    assert len(out["ledger"][0]["reason"]) == 200
    assert out["n"] == 1
    assert len(json.dumps(out)) < 5_000
