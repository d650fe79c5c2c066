"""The shipped Prometheus rules: generated file up to date, ``promtool check rules`` clean, and
``promtool test rules`` unit tests for every alert (fires, quiet on a healthy series and on low
traffic, resolves).

The unit tests are written here as data and run by the real ``promtool``. They load the shipped
rules with annotations removed (promtool compares annotations verbatim; their templates are
checked by ``promtool check rules``), so expressions, ``for`` and labels are exactly the shipped
ones.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.alerts.rules import Windows, build_rules, render

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "deploy" / "prometheus" / "soakmon-rules.yml"
ANNOTATIONS = ("summary", "description", "runbook_url")


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    return path


def _alerts(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


def test_the_shipped_rule_file_is_the_generated_one() -> None:
    assert SHIPPED.read_text() == render(), "run: python -m monitor.alerts.rules > " + str(SHIPPED)


def test_promtool_check_rules_is_clean_on_shipped_and_test_variant(tmp_path: Path) -> None:
    short = tmp_path / "short.yml"
    short.write_text(render(Windows().scaled(0.01, min_requests=20)))
    out = subprocess.run(
        [_promtool(), "check", "rules", str(SHIPPED), str(short)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 41 rules found" in out.stdout


def test_every_alert_has_severity_summary_description_and_runbook() -> None:
    alerts = _alerts(build_rules())
    assert len(alerts) >= 15
    for alert in alerts:
        assert alert["labels"]["severity"] in ("page", "ticket"), alert["alert"]
        for key in ANNOTATIONS:
            assert alert["annotations"].get(key), (alert["alert"], key)


def test_the_runbook_base_is_a_flag_and_reaches_every_alert(tmp_path: Path) -> None:
    import sys

    base = "https://wiki.example/ops/soakmon-runbooks.html"
    out = subprocess.run(
        [sys.executable, "-m", "monitor.alerts.rules", "--runbook-base-url", base],
        check=True, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    ours = _alerts(yaml.safe_load(out.stdout))
    shipped = _alerts(yaml.safe_load(SHIPPED.read_text()))
    assert len(ours) == len(shipped)
    for mine, default in zip(ours, shipped, strict=True):
        anchor = default["annotations"]["runbook_url"].removeprefix("docs/runbooks.md#")
        assert mine["annotations"]["runbook_url"] == f"{base}#{anchor}", mine["alert"]
        assert {**mine, "annotations": {}} == {**default, "annotations": {}}
    bad = subprocess.run(
        [sys.executable, "-m", "monitor.alerts.rules", "--runbook-base-url", "https://x/r#top"],
        check=False, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "--runbook-base-url: 'https://x/r#top': no '#'" in bad.stderr


def test_the_shipped_rules_keep_the_sre_windows() -> None:
    text = SHIPPED.read_text()
    for pair in ("ratio_rate1h > 0.72", "ratio_rate5m > 0.72", "ratio_rate6h > 0.3"):
        assert pair in text
    for window in ("[1h]", "[6h]", "[3d]"):
        assert window in text


# -- promtool unit tests -----------------------------------------------------------------------

SOAK = 'suite="soak",scenario="steady",operation="GET /"'


def counter(*segments: tuple[float, int]) -> str:
    """Counter values: per-minute ``(increment, minutes)`` segments, continuing the total."""
    out: list[str] = []
    total = 0.0
    first = True
    for step, minutes in segments:
        if first:
            out.append(f"{total:g}+{step:g}x{minutes}")
            total += step * minutes
            first = False
        else:
            out.append(f"{total + step:g}+{step:g}x{minutes - 1}")
            total += step * minutes
    return " ".join(out)


def alert(name: str, **labels: str) -> dict[str, Any]:
    return {"exp_labels": {"alertname": name, **labels}}


def _burn_series(kind: str) -> list[dict[str, str]]:
    """Targets ``bad`` (burns from 0 to 90 min, then clean), ``good`` (1 % bad, healthy) and
    ``quiet`` (every request bad, but only 40 in all)."""
    if kind == "errors":
        return [
            {"series": f'soakmon_requests_total{{{SOAK},target="bad",outcome="ok"}}',
             "values": counter((20, 90), (100, 150))},
            {"series": f'soakmon_requests_total{{{SOAK},target="bad",outcome="http_5xx"}}',
             "values": counter((80, 90), (0, 150))},
            {"series": f'soakmon_requests_total{{{SOAK},target="good",outcome="ok"}}',
             "values": counter((99, 240))},
            {"series": f'soakmon_requests_total{{{SOAK},target="good",outcome="http_5xx"}}',
             "values": counter((1, 240))},
            {"series": f'soakmon_requests_total{{{SOAK},target="quiet",outcome="refused"}}',
             "values": counter((1, 40))},
        ]  # fmt: skip
    hist = "soakmon_request_duration_seconds"
    rows: list[dict[str, str]] = []
    for target, total, fast in (
        ("bad", ((100, 90), (100, 150)), ((10, 90), (100, 150))),
        ("good", ((100, 240),), ((99, 240),)),
        ("quiet", ((1, 40),), ((0, 40),)),
    ):
        t = f'{SOAK},target="{target}"'
        rows += [
            {"series": f'soakmon_requests_total{{{t},outcome="ok"}}', "values": counter(*total)},
            {"series": f'{hist}_count{{{t},outcome="ok"}}', "values": counter(*total)},
            {"series": f'{hist}_bucket{{{t},outcome="ok",le="0.5"}}', "values": counter(*fast)},
            {"series": f'{hist}_bucket{{{t},outcome="ok",le="+Inf"}}', "values": counter(*total)},
        ]
    return rows


def _burn_tests(name: str, kind: str, slo: str) -> dict[str, Any]:
    def burning(*windows: str) -> list[dict[str, Any]]:
        sev = {"1h": "page", "6h": "page", "1d": "ticket", "3d": "ticket"}
        return [alert(name, target="bad", severity=sev[w], slo=slo, window=w) for w in windows]

    return {
        "interval": "1m",
        "input_series": _burn_series(kind),
        "alert_rule_test": [
            # 80-90 % bad since t=0: both page pairs and both ticket pairs fire; good and quiet
            # (40 bad requests, under the low-traffic guard of 100) stay silent.
            {"eval_time": "40m", "alertname": name, "exp_alerts": burning("1h", "6h", "1d", "3d")},
            {"eval_time": "2m", "alertname": name, "exp_alerts": []},
            # 25 minutes after the burn stopped, the short windows (5m, 30m) cleared both pages.
            {"eval_time": "115m", "alertname": name, "exp_alerts": burning("1d", "3d")},
            {"eval_time": "235m", "alertname": name, "exp_alerts": burning("3d")},
        ],
    }


def _series(name: str, values: str) -> dict[str, str]:
    return {"series": name, "values": values}


MONITOR_TESTS: list[dict[str, Any]] = [
    {  # target down: refused from 10 to 30 min
        "interval": "1m",
        "input_series": [
            _series(f'soakmon_requests_total{{{SOAK},target="ref",outcome="ok"}}',
                    counter((60, 10), (0, 20), (60, 20))),
            _series(f'soakmon_requests_total{{{SOAK},target="ref",outcome="refused"}}',
                    counter((0, 10), (60, 20), (0, 20))),
            _series(f'soakmon_requests_total{{{SOAK},target="up",outcome="ok"}}',
                    counter((60, 50))),
        ],
        "alert_rule_test": [
            {"eval_time": "8m", "alertname": "SoakmonTargetDown", "exp_alerts": []},
            {"eval_time": "20m", "alertname": "SoakmonTargetDown",
             "exp_alerts": [alert("SoakmonTargetDown", target="ref", severity="page")]},
            {"eval_time": "45m", "alertname": "SoakmonTargetDown", "exp_alerts": []},
        ],
    },
    {  # invariant: fails at 3..5 min, passes again from 6 min; another check always passes
        "interval": "1m",
        "input_series": [
            _series('soakmon_check_passing{suite="points@ref",scenario="deduct",'
                    'check="no_overdraft",target="ref"}', "1 1 1 0 0 0 1 1 1"),
            _series('soakmon_check_passing{suite="points@ref",scenario="deduct",'
                    'check="conservation",target="ref"}', "1x8"),
        ],
        "alert_rule_test": [
            {"eval_time": "2m", "alertname": "SoakmonInvariantViolated", "exp_alerts": []},
            {"eval_time": "4m", "alertname": "SoakmonInvariantViolated", "exp_alerts": [
                alert("SoakmonInvariantViolated", suite="points@ref", scenario="deduct",
                      check="no_overdraft", target="ref", severity="page")]},
            {"eval_time": "7m", "alertname": "SoakmonInvariantViolated", "exp_alerts": []},
        ],
    },
    {  # suite runs: "broken" fails every run until 40 min, "flaky" fails and passes
        "interval": "1m",
        "input_series": [
            _series('soakmon_suite_runs_total{suite="broken",result="failed"}',
                    counter((1, 40), (0, 80))),
            _series('soakmon_suite_runs_total{suite="broken",result="passed"}',
                    counter((0, 40), (1, 80))),
            _series('soakmon_suite_runs_total{suite="flaky",result="failed"}', counter((1, 120))),
            _series('soakmon_suite_runs_total{suite="flaky",result="passed"}', counter((1, 120))),
            _series('soakmon_suite_missed_runs_total{suite="slow"}', counter((0, 10), (1, 2),
                                                                             (0, 100))),
            _series('soakmon_suite_missed_runs_total{suite="flaky"}', "0x120"),
            # next run due a minute ahead, always; "stuck" stops rescheduling at 10 min and
            # picks up again at 41 min
            _series('soakmon_suite_next_run_timestamp_seconds{suite="flaky"}', "60+60x120"),
            _series('soakmon_suite_next_run_timestamp_seconds{suite="stuck"}',
                    "60+60x10 660x30 2520+60x40"),
        ],
        "alert_rule_test": [
            {"eval_time": "20m", "alertname": "SoakmonSuiteRunsFailing",
             "exp_alerts": [alert("SoakmonSuiteRunsFailing", suite="broken", severity="ticket")]},
            {"eval_time": "45m", "alertname": "SoakmonSuiteRunsFailing", "exp_alerts": []},
            {"eval_time": "5m", "alertname": "SoakmonSuiteRunsMissed", "exp_alerts": []},
            {"eval_time": "20m", "alertname": "SoakmonSuiteRunsMissed",
             "exp_alerts": [alert("SoakmonSuiteRunsMissed", suite="slow", severity="ticket")]},
            {"eval_time": "90m", "alertname": "SoakmonSuiteRunsMissed", "exp_alerts": []},
            {"eval_time": "20m", "alertname": "SoakmonSuiteRunOverdue", "exp_alerts": []},
            {"eval_time": "30m", "alertname": "SoakmonSuiteRunOverdue",
             "exp_alerts": [alert("SoakmonSuiteRunOverdue", suite="stuck", severity="ticket")]},
            {"eval_time": "50m", "alertname": "SoakmonSuiteRunOverdue", "exp_alerts": []},
        ],
    },
    {  # soak analyses: each fails 10..20 min; the generic alert leaves memory and pool alone
        "interval": "1m",
        "input_series": [
            _series(f'soakmon_soak_analysis_passing{{target="ref",analysis="{a}"}}',
                    "1x9 0x10 1x10")
            for a in ("memory_growth", "pool_not_exhausted", "throughput_stable:steady")
        ] + [
            _series('soakmon_soak_analysis_passing{target="ok",analysis="memory_growth"}', "1x30"),
        ],
        "alert_rule_test": [
            *(
                step
                for name, analysis in (
                    ("SoakmonTargetMemoryGrowing", "memory_growth"),
                    ("SoakmonTargetPoolSaturated", "pool_not_exhausted"),
                    ("SoakmonSoakAnalysisFailing", "throughput_stable:steady"),
                )
                for step in (
                    {"eval_time": "12m", "alertname": name, "exp_alerts": []},
                    {"eval_time": "17m", "alertname": name, "exp_alerts": [
                        alert(name, target="ref", analysis=analysis, severity="ticket")]},
                    {"eval_time": "22m", "alertname": name, "exp_alerts": []},
                )
            )
        ],
    },
    {  # the monitor: scraped, then down 10..30 min; a probe failing 0..20 min, another fine
        "interval": "1m",
        "input_series": [
            _series('up{job="soakmon",instance="soakmon:9109"}', "1x9 0x20 1x20"),
            _series('soakmon_probe_errors_total{probe="ref-metrics"}', counter((1, 20), (0, 30))),
            _series('soakmon_probe_errors_total{probe="self"}', "0x50"),
        ],
        "alert_rule_test": [
            {"eval_time": "8m", "alertname": "SoakmonMonitorAbsent", "exp_alerts": []},
            {"eval_time": "20m", "alertname": "SoakmonMonitorAbsent",
             "exp_alerts": [alert("SoakmonMonitorAbsent", severity="page")]},
            {"eval_time": "40m", "alertname": "SoakmonMonitorAbsent", "exp_alerts": []},
            {"eval_time": "8m", "alertname": "SoakmonProbeErrors", "exp_alerts": []},
            {"eval_time": "15m", "alertname": "SoakmonProbeErrors",
             "exp_alerts": [alert("SoakmonProbeErrors", probe="ref-metrics", severity="ticket")]},
            {"eval_time": "35m", "alertname": "SoakmonProbeErrors", "exp_alerts": []},
        ],
    },
    {  # a chaos fault that could not be reverted at 10m: pages for the hour after
        "interval": "1m",
        "input_series": [
            _series('soakmon_chaos_actions_total{kind="latency",result="revert-failed"}',
                    "0x9 1x80"),
            _series('soakmon_chaos_actions_total{kind="latency",result="ok"}', "0+1x90"),
        ],
        "alert_rule_test": [
            {"eval_time": "8m", "alertname": "SoakmonChaosRevertFailed", "exp_alerts": []},
            {"eval_time": "12m", "alertname": "SoakmonChaosRevertFailed",
             "exp_alerts": [alert("SoakmonChaosRevertFailed", kind="latency", severity="page")]},
            {"eval_time": "80m", "alertname": "SoakmonChaosRevertFailed", "exp_alerts": []},
        ],
    },
]  # fmt: skip


def test_promtool_unit_tests_cover_every_alert(tmp_path: Path) -> None:
    rules = yaml.safe_load(SHIPPED.read_text())
    for rule in _alerts(rules):
        rule.pop("annotations", None)
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    tests = [
        _burn_tests("SoakmonErrorBudgetBurn", "errors", "error_rate"),
        _burn_tests("SoakmonLatencyBudgetBurn", "slow", "latency"),
        *MONITOR_TESTS,
    ]
    tested = {step["alertname"] for t in tests for step in t["alert_rule_test"]}
    assert tested == {a["alert"] for a in _alerts(rules)}, "every shipped alert has a unit test"
    doc = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": tests}
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    out = subprocess.run(
        [_promtool(), "test", "rules", "tests.yml"],
        cwd=tmp_path,
        check=False,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_runbook_url_points_at_a_section_of_the_runbooks() -> None:
    text = (ROOT / "docs" / "runbooks.md").read_text()
    sections = set(re.findall(r"^## ([a-z0-9-]+)$", text, flags=re.M))
    anchors = {a["annotations"]["runbook_url"].split("#")[1] for a in _alerts(build_rules())}
    anchors |= set(re.findall(r'_runbook\("([a-z0-9-]+)"', (ROOT / "monitor/alerts/book.py")
                              .read_text()))  # fmt: skip
    assert anchors <= sections, sorted(anchors - sections)
