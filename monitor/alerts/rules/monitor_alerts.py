"""The monitor's own alerts: a target down, invariants violated, suite runs failing, missed
or overdue, soak analyses failing, soakmon not scraped, probes failing, a chaos fault left
unreverted."""

from __future__ import annotations

from typing import Any

from monitor.alerts.rules.runbooks import rule_annotations
from monitor.alerts.rules.slo import SOAK, TRANSPORT
from monitor.alerts.rules.windows import Windows


def monitor_alerts(w: Windows, job: str) -> list[dict[str, Any]]:
    soak = f'soakmon_requests_total{{{SOAK},outcome=~"{TRANSPORT}"}}'
    return [
        {
            "alert": "SoakmonTargetDown",
            "expr": f"sum by (target) (rate({soak}[{w.r('5m')}]))\n"
            f"/ sum by (target) (rate(soakmon_requests_total{{{SOAK}}}[{w.r('5m')}])) > 0.9",
            "for": w.wait("down"),
            "labels": {"severity": "page"},
            "annotations": rule_annotations(
                "{{ $labels.target }} does not answer soakmon",
                "More than 90 % of soak requests to target {{ $labels.target }} failed at the "
                "transport level (connection refused or reset, timeout, TLS) over the last "
                f"{w.r('5m')}. SLO and invariant alerts of this target are inhibited meanwhile.",
                "target-down",
            ),
        },
        {
            "alert": "SoakmonInvariantViolated",
            "expr": "soakmon_check_passing == 0",
            "for": w.wait("invariant"),
            "labels": {"severity": "page"},
            "annotations": rule_annotations(
                "{{ $labels.suite }}/{{ $labels.scenario }}: check {{ $labels.check }} failed",
                "The check {{ $labels.check }} of scenario {{ $labels.scenario }} in suite "
                "{{ $labels.suite }} (target {{ $labels.target }}) failed at its last "
                "evaluation. The daemon's status page (/api/status, `violations`) holds the "
                "contradicting operations.",
                "invariant-violated",
            ),
        },
        {
            "alert": "SoakmonSuiteRunsFailing",
            "expr": f'sum by (suite) (increase(soakmon_suite_runs_total{{result="failed"}}'
            f"[{w.r('1h')}])) > 0\n"
            f'unless sum by (suite) (increase(soakmon_suite_runs_total{{result="passed"}}'
            f"[{w.r('1h')}])) > 0",
            "for": w.wait("run"),
            "labels": {"severity": "ticket"},
            "annotations": rule_annotations(
                "{{ $labels.suite }}: every run failed in the last " + w.r("1h"),
                "Suite {{ $labels.suite }} ran {{ $value | humanize }} time(s) in the last "
                f"{w.r('1h')} and no run passed (failed checks, errors or timeouts).",
                "suite-runs-failing",
            ),
        },
        {
            "alert": "SoakmonSuiteRunsMissed",
            "expr": f"sum by (suite) (increase(soakmon_suite_missed_runs_total[{w.r('1h')}])) > 0",
            "for": w.wait("missed"),
            "labels": {"severity": "ticket"},
            "annotations": rule_annotations(
                "{{ $labels.suite }}: scheduled runs were skipped",
                "Suite {{ $labels.suite }} skipped {{ $value | humanize }} scheduled run(s) in "
                f"the last {w.r('1h')} because the previous run was still going: its schedule is "
                "shorter than a run.",
                "suite-runs-missed",
            ),
        },
        {
            "alert": "SoakmonSuiteRunOverdue",
            "expr": f"time() - soakmon_suite_next_run_timestamp_seconds > {w.waits['overdue']:g}",
            "labels": {"severity": "ticket"},
            "annotations": rule_annotations(
                "{{ $labels.suite }}: a scheduled run is overdue",
                "The next run of suite {{ $labels.suite }} was due {{ $value | humanizeDuration }}"
                " ago and has not started: its loop is stuck or failed (see `tasks` in the "
                "daemon's /api/status).",
                "suite-run-overdue",
            ),
        },
        *(
            {
                "alert": name,
                "expr": f"soakmon_soak_analysis_passing{{{selector}}} == 0",
                "for": w.wait("verdict"),
                "labels": {"severity": "ticket"},
                "annotations": rule_annotations(
                    summary,
                    f"{what} of target {{{{ $labels.target }}}} has failed for "
                    f"{w.wait('verdict')} (analysis {{{{ $labels.analysis }}}}). The daemon's "
                    "status page shows what was expected and what was observed.",
                    anchor,
                ),
            }
            for name, selector, summary, what, anchor in (
                (
                    "SoakmonTargetMemoryGrowing",
                    'analysis="memory_growth"',
                    "{{ $labels.target }}: memory keeps growing",
                    "The memory growth analysis",
                    "memory-growth",
                ),
                (
                    "SoakmonTargetPoolSaturated",
                    'analysis="pool_not_exhausted"',
                    "{{ $labels.target }}: database pool saturated",
                    "The database pool analysis",
                    "pool-saturated",
                ),
                (
                    "SoakmonSoakAnalysisFailing",
                    'analysis!~"memory_growth|pool_not_exhausted"',
                    "{{ $labels.target }}: soak analysis {{ $labels.analysis }} failed",
                    "A soak analysis (throughput stability or burst recovery)",
                    "soak-analysis-failing",
                ),
            )
        ),
        {
            "alert": "SoakmonMonitorAbsent",
            "expr": f'absent(up{{job="{job}"}} == 1)',
            "for": w.wait("absent"),
            "labels": {"severity": "page"},
            "annotations": rule_annotations(
                "soakmon is not being scraped",
                f'No healthy scrape of job "{job}" for {w.wait("absent")}: nothing is '
                "watching the invariants and SLOs now.",
                "monitor-absent",
            ),
        },
        {
            "alert": "SoakmonProbeErrors",
            "expr": f"sum by (probe) (rate(soakmon_probe_errors_total[{w.r('5m')}])) > 0",
            "for": w.wait("probe"),
            "labels": {"severity": "ticket"},
            "annotations": rule_annotations(
                "probe {{ $labels.probe }} keeps failing",
                "Probe {{ $labels.probe }} has failed reads for "
                f"{w.wait('probe')}: memory and pool analyses fed by it are blind.",
                "probe-errors",
            ),
        },
        {
            "alert": "SoakmonChaosRevertFailed",
            "expr": "sum by (kind) (increase(soakmon_chaos_actions_total"
            f'{{result="revert-failed"}}[{w.r("1h")}])) > 0',
            "labels": {"severity": "page"},
            "annotations": rule_annotations(
                "chaos fault {{ $labels.kind }} could not be reverted",
                "A {{ $labels.kind }} fault injected by soakmon could not be reverted: it may "
                "still be active. It stays in the chaos journal; revert it with `soakmon chaos "
                "revert` (or restart the daemon) and check GET /api/chaos.",
                "chaos-revert-failed",
            ),
        },
    ]
