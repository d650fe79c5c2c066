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
    assert "N/A" in out
    assert "no_overdraw: observed balance = -300, expected balance >= 0" in out
    assert "p95: observed p95 = 220.5 ms, expected p95 <= 100 ms" in out
    assert "not applicable: profile does not map operation gift.claim" in out
    # evidence under the table
    assert "✗ points / Concurrent deduction <overdraw> / no_overdraw" in out
    assert "op#3 points.deduct 300 -> ok" in out
    assert "FAILED — 3 scenarios: 1 passed, 1 failed, 0 errors, 1 not applicable in 4.5 s" in out
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
        == "PASSED — 1 scenario: 1 passed, 0 failed, 0 errors, 0 not applicable in 250 ms "
        "against http://t"
    )
    assert "Failed checks and errors:" not in render_summary(run)


def test_an_error_is_shown_apart_from_failures_and_names_the_missing_value() -> None:
    ok = CheckResult("c", True, "1", "1")
    broken = CheckResult.error("pool", "pool free", "state.metrics_after has no key 'db_pool'")
    sc = ScenarioResult.from_checks("a", "s", [ok, broken])
    run = RunResult("http://t", "now", 0.25, [SuiteResult("s", [sc])])
    assert sc.status == "error"
    assert sc.failed_checks == []
    line = verdict(run).plain
    assert line.startswith("ERROR — 1 scenario: 0 passed, 0 failed, 1 error, 0 not applicable")
    out = render_summary(run, width=200)
    assert "ERROR" in out
    assert "error: pool: state.metrics_after has no key 'db_pool'" in out
    assert "FAIL " not in out


def test_every_scenario_erroring_in_setup_says_the_target_is_not_the_api() -> None:
    step = "setup[0] register: got unexpected, HTTP 501 (Unsupported method), expected ok"
    scenarios = [
        ScenarioResult.from_checks(
            n, "s", [CheckResult.error("setup", "the setup completes", step)]
        )
        for n in ("a", "b")
    ]
    run = RunResult("http://t", "now", 0.25, [SuiteResult("s", scenarios)], profile="reference")
    assert run.setup_errors_only
    out = verdict(run).plain
    assert "does not look like the API of profile 'reference'" in out


def test_setup_refused_by_the_target_names_the_refusal_not_a_wrong_api() -> None:
    # Kinto: a second run with the same --seed signs the same account up again -> HTTP 401
    step = "setup[0] register: got error, HTTP 401 (Please authenticate yourself), expected ok"
    scenarios = [
        ScenarioResult.from_checks(
            n, "s", [CheckResult.error("setup", "the setup completes", step)]
        )
        for n in ("a", "b")
    ]
    run = RunResult("http://t", "now", 0.25, [SuiteResult("s", scenarios)], profile="kinto")
    out = verdict(run).plain
    assert "does not look like the API" not in out
    assert "refused it (setup[0] register: got error, HTTP 401" in out
    assert "a repeated --seed" in out
    from monitor.report.html import render_html_text

    html = render_html_text(run)  # the HTML report says the same
    assert "refused it (setup[0] register: got error, HTTP 401" in html
    assert "does not look like the API" not in html


async def test_engine_run_summary_shows_requests_and_p95() -> None:
    run = await engine_run(repeat=30, rounds=1)
    out = render_summary(run, width=200)
    row = next(line for line in out.splitlines() if "Flaky reads" in line)
    assert "30" in row
    assert " ms" in row
    assert "no server errors: observed 4 errors, expected 0 errors" in out
    assert "HTTP 500 (x4)" in out


def test_a_multi_line_cel_check_takes_one_line_in_the_table_and_stays_whole_below() -> None:
    expr = (
        "state.bag_after.filter(r, r.reward == params.reward).map(r, r.quantity)\n"
        "== (size(state.bag_before.filter(r, r.reward == params.reward)) == 0\n"
        '    ? [] : [state.bag_before[0].quantity + ops["rewards.buy"].ok])\n'
    )
    check = CheckResult(
        "the bag holds exactly the items sold", False, expr, "[3] == [2]", f"{expr} is false"
    )
    sc = ScenarioResult.from_checks("buy", "oversubscription", [check])
    run = RunResult("http://t", "now", 0.25, [SuiteResult("oversubscription", [sc])])
    out = render_summary(run, width=160)
    table, _, evidence = out.partition("Failed checks and errors:")
    assert "the bag holds exactly the items sold: observed [3] == [2]" in table
    assert "state.bag_before" not in table  # the expression is not printed in the table ...
    assert "expected: state.bag_after.filter" in evidence  # ... but whole in the evidence,
    assert '    ? [] : [state.bag_before[0].quantity + ops["rewards.buy"].ok])' in evidence
