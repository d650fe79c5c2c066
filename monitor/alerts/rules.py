"""The Prometheus rules shipped in ``deploy/prometheus/``, generated from one template.

``build_rules()`` returns the rule file as data; ``python -m monitor.alerts.rules`` prints it.
The shipped file keeps the SRE-workbook windows (page: 1h with 5m, 6h with 30m; ticket: 1d with
2h, 3d with 6h). ``Windows.scaled(f)`` shrinks every window and ``for`` by the same factor, so a
test can run the very same expressions against a real Prometheus within seconds
(``--scale 0.01``). Recording-rule names keep their nominal window (``rate1h``) in both.

Latency SLO: P95 < 500 ms, i.e. at most 5 % of soak requests slower than 0.5 s (the bucket
``le="0.5"`` of ``soakmon_request_duration_seconds``). Error SLO: at most 5 % of soak requests
fail (outcome other than ``ok``). Only soak traffic (``suite="soak"``) counts: suite runs create
contention and rejections on purpose, and bursts are judged by their own recovery verdict.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from monitor.alerts.model import DEFAULT_RUNBOOK_BASE, check_runbook_base, runbook_url

SOAK = 'suite="soak"'
TRANSPORT = "refused|reset|timeout|tls"


def _fmt(seconds: float) -> str:
    """A Prometheus duration: ``3600`` -> ``1h``, ``36`` -> ``36s``, ``0.5`` -> ``500ms``."""
    ms = round(seconds * 1000)
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms >= size and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{max(ms, 1)}ms"


@dataclass(frozen=True)
class Windows:
    """Every duration the rules use, in seconds, by nominal name."""

    ranges: dict[str, float] = field(
        default_factory=lambda: {
            "5m": 300, "30m": 1800, "1h": 3600, "2h": 7200, "6h": 21600, "1d": 86400,
            "3d": 259200,
        }
    )  # fmt: skip
    #: ``for`` durations and staleness limits, by role.
    waits: dict[str, float] = field(
        default_factory=lambda: {
            "page": 120, "ticket": 900, "invariant": 0, "run": 0, "missed": 0,
            "absent": 300, "probe": 600, "down": 60, "overdue": 900, "verdict": 300,
        }
    )  # fmt: skip
    #: a burn-rate alert needs at least this many soak requests in its long window.
    min_requests: int = 100

    def scaled(self, factor: float, *, min_requests: int | None = None) -> Windows:
        """Every range and wait multiplied by ``factor`` (the test variant)."""
        return replace(
            self,
            ranges={k: v * factor for k, v in self.ranges.items()},
            waits={k: v * factor for k, v in self.waits.items()},
            min_requests=self.min_requests if min_requests is None else min_requests,
        )

    def r(self, name: str) -> str:
        return _fmt(self.ranges[name])

    def wait(self, role: str) -> str:
        return _fmt(self.waits[role])


#: (severity, long window, short window, burn-rate factor): SRE workbook, chapter 5, table 5-8.
BURNS = (
    ("page", "1h", "5m", 14.4),
    ("page", "6h", "30m", 6.0),
    ("ticket", "1d", "2h", 3.0),
    ("ticket", "3d", "6h", 1.0),
)


@dataclass(frozen=True)
class Slo:
    """The two request SLOs."""

    error_budget: float = 0.05
    """Share of soak requests allowed to fail."""
    latency_le: str = "0.5"
    """Histogram bucket bound of the latency SLO (seconds)."""
    latency_budget: float = 0.05
    """Share of soak requests allowed to be slower than the bound (P95 < bound)."""


def _ann(summary: str, description: str, anchor: str) -> dict[str, str]:
    """Annotations; ``runbook_url`` holds the default base, swapped by ``build_rules``."""
    return {
        "summary": summary,
        "description": description,
        "runbook_url": runbook_url(DEFAULT_RUNBOOK_BASE, anchor),
    }


def _rebase(groups: list[dict[str, Any]], base: str) -> None:
    """Point every ``runbook_url`` at ``base`` (the anchor stays)."""
    for group in groups:
        for rule in group["rules"]:
            ann = rule.get("annotations", {})
            if "runbook_url" in ann:
                ann["runbook_url"] = runbook_url(base, ann["runbook_url"].rsplit("#", 1)[1])


def recording_rules(w: Windows, slo: Slo) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for name in w.ranges:
        rng = w.r(name)
        total = f"sum by (target) (rate(soakmon_requests_total{{{SOAK}}}[{rng}]))"
        errors = f'sum by (target) (rate(soakmon_requests_total{{{SOAK},outcome!="ok"}}[{rng}]))'
        fast = (
            "sum by (target) (rate(soakmon_request_duration_seconds_bucket"
            f'{{{SOAK},le="{slo.latency_le}"}}[{rng}]))'
        )
        count = f"sum by (target) (rate(soakmon_request_duration_seconds_count{{{SOAK}}}[{rng}]))"
        rules += [
            {"record": f"target:soakmon_requests:rate{name}", "expr": total},
            {
                "record": f"target:soakmon_requests_errors:ratio_rate{name}",
                "expr": f"(\n  {errors}\n  or {total} * 0\n)\n/ {total}",
            },
            {
                "record": f"target:soakmon_requests_slow:ratio_rate{name}",
                "expr": f"1 - (\n  {fast}\n  or {count} * 0\n)\n/ {count}",
            },
        ]
    rules.append(
        {
            "record": "target:soakmon_request_duration_seconds:p95_rate5m",
            "expr": "histogram_quantile(0.95,\n  sum by (target, le) (rate("
            f"soakmon_request_duration_seconds_bucket{{{SOAK}}}[{w.r('5m')}]))\n)",
        }
    )
    return rules


def burn_alerts(w: Windows, slo: Slo) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = []
    kinds = (
        (
            "SoakmonErrorBudgetBurn",
            "errors",
            "error_rate",
            slo.error_budget,
            "error ratio",
            "error-budget-burn",
        ),
        (
            "SoakmonLatencyBudgetBurn",
            "slow",
            "latency",
            slo.latency_budget,
            f"share of requests slower than {float(slo.latency_le) * 1000:g} ms",
            "latency-budget-burn",
        ),
    )
    for alertname, metric, slo_label, budget, what, anchor in kinds:
        for severity, long, short, factor in BURNS:
            limit = round(factor * budget, 6)
            guard = f"target:soakmon_requests:rate{long} * {w.ranges[long]:g} >= {w.min_requests}"
            expr = (
                f"target:soakmon_requests_{metric}:ratio_rate{long} > {limit:g}\n"
                f"and on (target) target:soakmon_requests_{metric}:ratio_rate{short} > {limit:g}\n"
                f"and on (target) {guard}"
            )
            alerts.append(
                {
                    "alert": alertname,
                    "expr": expr,
                    "for": w.wait(severity),
                    "labels": {"severity": severity, "slo": slo_label, "window": long},
                    "annotations": _ann(
                        f"{{{{ $labels.target }}}}: {what} burns the {budget:.0%} budget "
                        f"{factor:g}x too fast ({long}/{short})",
                        f"Over the last {long} (and {short}) the {what} of soak requests to "
                        f"target {{{{ $labels.target }}}} is above {limit:.1%} "
                        f"({factor:g} times the {budget:.0%} budget): at this pace the 30-day "
                        f"budget is gone in {30 / factor:.1f} days. Now: "
                        "{{ $value | humanizePercentage }} over the long window.",
                        anchor,
                    ),
                }
            )
    return alerts


def monitor_alerts(w: Windows, job: str) -> list[dict[str, Any]]:
    soak = f'soakmon_requests_total{{{SOAK},outcome=~"{TRANSPORT}"}}'
    return [
        {
            "alert": "SoakmonTargetDown",
            "expr": f"sum by (target) (rate({soak}[{w.r('5m')}]))\n"
            f"/ sum by (target) (rate(soakmon_requests_total{{{SOAK}}}[{w.r('5m')}])) > 0.9",
            "for": w.wait("down"),
            "labels": {"severity": "page"},
            "annotations": _ann(
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
            "annotations": _ann(
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
            "annotations": _ann(
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
            "annotations": _ann(
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
            "annotations": _ann(
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
                "annotations": _ann(
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
            "annotations": _ann(
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
            "annotations": _ann(
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
            "annotations": _ann(
                "chaos fault {{ $labels.kind }} could not be reverted",
                "A {{ $labels.kind }} fault injected by soakmon could not be reverted: it may "
                "still be active. It stays in the chaos journal; revert it with `soakmon chaos "
                "revert` (or restart the daemon) and check GET /api/chaos.",
                "chaos-revert-failed",
            ),
        },
    ]


def build_rules(
    windows: Windows | None = None,
    *,
    slo: Slo | None = None,
    job: str = "soakmon",
    runbook_base: str = DEFAULT_RUNBOOK_BASE,
) -> dict[str, Any]:
    """The rule file (``groups``) as data; ``runbook_url`` = ``runbook_base#ANCHOR``."""
    w = windows or Windows()
    s = slo or Slo()
    groups = [
        {"name": "soakmon-slo-recording", "rules": recording_rules(w, s)},
        {"name": "soakmon-slo-burn", "rules": burn_alerts(w, s)},
        {"name": "soakmon-monitor", "rules": monitor_alerts(w, job)},
    ]
    _rebase(groups, check_runbook_base(runbook_base))
    return {"groups": groups}


class _Dumper(yaml.SafeDumper):
    """Long or multi-line strings (PromQL, descriptions) as literal blocks: readable diffs."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render(
    windows: Windows | None = None,
    *,
    job: str = "soakmon",
    runbook_base: str = DEFAULT_RUNBOOK_BASE,
) -> str:
    """The rule file as YAML text, with a header naming its generator."""
    head = (
        "# Generated by `python -m monitor.alerts.rules` - do not edit by hand.\n"
        "# soakmon's SLO recording rules, multi-window multi-burn-rate alerts and monitor alerts.\n"
    )
    rules = build_rules(windows, job=job, runbook_base=runbook_base)
    body = yaml.dump(rules, Dumper=_Dumper, sort_keys=False, width=100)
    return head + body


def _runbook_arg(value: str) -> str:
    try:
        return check_runbook_base(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m monitor.alerts.rules", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="window factor (tests only)")
    parser.add_argument("--min-requests", type=int, default=None, help="low-traffic guard")
    parser.add_argument("--job", default="soakmon", help="scrape job of the daemon")
    parser.add_argument(
        "--runbook-base-url",
        type=_runbook_arg,
        default=DEFAULT_RUNBOOK_BASE,
        metavar="URL",
        help="where you host docs/runbooks.md; runbook_url = URL#ANCHOR "
        f"(default: {DEFAULT_RUNBOOK_BASE}, the path in soakmon's source tree)",
    )
    args = parser.parse_args(argv)
    windows = Windows()
    if args.scale != 1.0 or args.min_requests is not None:
        windows = windows.scaled(args.scale, min_requests=args.min_requests)
    sys.stdout.write(render(windows, job=args.job, runbook_base=args.runbook_base_url))


if __name__ == "__main__":
    main()
