"""The console summary shows every scenario, the failing checks with evidence, and a verdict."""

from __future__ import annotations

import io

from rich.console import Console

from monitor.report import print_summary, render_summary
from monitor.report.console import verdict
from monitor.suites.results import CheckResult, RunResult, ScenarioResult, SuiteResult
from tests.report.sample import engine_run, hand_run


def test_failing_checks_observed_vs_expected_and_evidence() -> None:
    out = render_summary(hand_run(), width=200)
    for name in ("Concurrent deduction <overdraw>", "Top3 set once", "Gift claim"):
        assert name in out
    assert "FAIL" in out
    assert "PASS" in out
    assert "SKIP" in out
    assert "no_overdraw: observed balance = -300, expected balance >= 0" in out
    assert "p95: observed p95 = 220.5 ms, expected p95 <= 100 ms" in out
    assert "skipped: profile does not map operation gift.claim" in out
    # evidence under the table
    assert "✗ points / Concurrent deduction <overdraw> / no_overdraw" in out
    assert "op#3 points.deduct 300 -> ok" in out
    assert "FAILED — 3 scenarios: 1 passed, 1 failed, 1 skipped in 4.5 s" in out
    assert out.index("FAILED —") < out.index("op#3 points.deduct")


def test_target_text_is_not_interpreted() -> None:
    buf = io.StringIO()
    print_summary(hand_run(), Console(file=buf, width=200, force_terminal=True))
    out = buf.getvalue()
    assert "[bold red]markup[/]" in out  # printed literally, not as rich markup
    assert "\\x1b[31mred" in out  # the target's escape sequence is shown, not executed
    assert "\x1b[31mred" not in out


def test_passing_run_verdict() -> None:
    sc = ScenarioResult.from_checks("a", "s", [CheckResult("c", True, "1", "1")])
    run = RunResult("http://t", "now", 0.25, [SuiteResult("s", [sc])])
    assert (
        verdict(run).plain
        == "PASSED — 1 scenario: 1 passed, 0 failed, 0 skipped in 250 ms against http://t"
    )
    assert "Failed checks:" not in render_summary(run)


async def test_engine_run_summary_shows_requests_and_p95() -> None:
    run = await engine_run(repeat=30, rounds=1)
    out = render_summary(run, width=200)
    row = next(line for line in out.splitlines() if "Flaky reads" in line)
    assert "30" in row
    assert " ms" in row
    assert "no server errors: observed 4 errors, expected 0 errors" in out
    assert "HTTP 500 (x4)" in out
