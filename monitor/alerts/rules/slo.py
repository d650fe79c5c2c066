"""The SLO rules over soak traffic: per-target recording rules for every window and the
multi-window multi-burn-rate alerts of the error and latency budgets."""

from __future__ import annotations

from typing import Any

from monitor.alerts.rules.runbooks import rule_annotations
from monitor.alerts.rules.windows import BURNS, Slo, Windows

SOAK = 'suite="soak"'
TRANSPORT = "refused|reset|timeout|tls"


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
                    "annotations": rule_annotations(
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
