"""soakmon's Grafana dashboards as code (grafana-foundation-sdk, Apache-2.0).

    python deploy/grafana/dashboards.py          # write deploy/grafana/*.json and the chart's copy
    python deploy/grafana/dashboards.py --check  # exit 1 when a committed JSON is out of date

Two dashboards: an overview (invariants, violations, SLOs and burn rates, latency, errors,
throughput, database pool, memory, suite runs) and a per-suite drill-down. Both have
`datasource` and `target` variables. A panel whose description starts with EMPTY_ON_PURPOSE
shows nothing while everything is healthy (active violations, probe errors); the end-to-end
test allows those to be empty and requires data from every other panel.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import heatmap, stat, table, timeseries
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm

HERE = Path(__file__).resolve().parent
OUTPUTS = (HERE, HERE.parents[1] / "helm" / "soakmon" / "dashboards")
EMPTY_ON_PURPOSE = "Empty while healthy."
DS = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")
T = 'target=~"$target"'
Doc = dict[str, Any]
RATE = "$__rate_interval"


@dataclass
class Q:
    expr: str
    legend: str = ""
    instant: bool = False
    heatmap: bool = False


@dataclass
class P:
    """A panel: kind is timeseries, stat, table or heatmap."""

    title: str
    kind: str
    queries: list[Q]
    unit: str = ""
    description: str = ""
    width: int = 8
    height: int = 8
    min_max: tuple[float, float] | None = None
    extra: dict[str, object] = field(default_factory=dict)


def _query(q: Q, ref: str) -> prom.Dataquery:
    b = prom.Dataquery().expr(q.expr).ref_id(ref).datasource(DS)
    if q.legend:
        b = b.legend_format(q.legend)
    if q.instant:
        b = b.instant().format(pm.PromQueryFormat.TABLE)
    if q.heatmap:
        b = b.format(pm.PromQueryFormat.HEATMAP)
    return b


def _panel(p: P) -> Any:
    builder = {
        "timeseries": timeseries.Panel,
        "stat": stat.Panel,
        "table": table.Panel,
        "heatmap": heatmap.Panel,
    }[p.kind]()
    b = builder.title(p.title).datasource(DS).span(p.width).height(p.height)
    if p.description:
        b = b.description(p.description)
    if p.unit:
        b = b.unit(p.unit)
    if p.min_max is not None:
        b = b.min(p.min_max[0]).max(p.min_max[1])
    for i, q in enumerate(p.queries):
        b = b.with_target(_query(q, chr(ord("A") + i)))
    return b


def _datasource_var() -> gd.DatasourceVariable:
    return gd.DatasourceVariable("datasource").label("Data source").type("prometheus")


def _query_var(name: str, label: str, query: str, *, all_: bool = True) -> gd.QueryVariable:
    v = (
        gd.QueryVariable(name)
        .label(label)
        .datasource(DS)
        .query({"query": query, "refId": f"{name}-var"})
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
    )
    if all_:
        v = v.include_all(True).all_value(".*").multi(True)
    return v


def _budget_var() -> gd.ConstantVariable:
    return gd.ConstantVariable("error_budget").label("SLO error budget").value("0.05")


def _check_status(title: str, selector: str, by: str, width: int) -> P:
    """Each check's last verdict, grouped ``by`` its labels."""
    return P(title, "table",
             [Q(f"min by ({by}) (soakmon_check_passing{{{selector}}})", instant=True)],
             description="1 = held at the last run, 0 = failed.", width=width)  # fmt: skip


def _checks_failing(title: str, selector: str, width: int) -> P:
    return P(title, "table", [Q(f"soakmon_check_passing{{{selector}}} == 0", instant=True)],
             description=f"{EMPTY_ON_PURPOSE} Checks failing at their last evaluation.",
             width=width)  # fmt: skip


def _violations_over_time(selector: str, by: str, width: int) -> P:
    """Violations per ``by`` label and check."""
    return P("Violations over time", "timeseries",
             [Q(f"sum by ({by}, check) "
                f"(increase(soakmon_check_violations_total{{{selector}}}[{RATE}]))",
                f"{{{{{by}}}}} / {{{{check}}}}")], width=width)  # fmt: skip


def _phase_spread(title: str, selector: str, measured: str, description: str) -> P:
    """p50 and p99 of the concurrent phases' spread ``measured`` (send or arrival), 1 h."""
    return P(title, "timeseries",
             [Q(f"histogram_quantile({q}, sum by (scenario, le) (increase("
                f'soakmon_phase_start_spread_seconds_bucket{{{selector},measured="{measured}"}}'
                "[1h])))",
                f"{{{{scenario}}}} p{name}")
              for q, name in (("0.5", "50"), ("0.99", "99"))],
             unit="s", width=8, description=description)  # fmt: skip


Rows = list[tuple[str, list[P]]]

CHAOS_ANNOTATION: Doc = {
    "datasource": {"type": "prometheus", "uid": "${datasource}"},
    "enable": True,
    "expr": "sum by (target) (soakmon_chaos_active) > 0",
    "iconColor": "orange",
    "name": "Chaos faults",
    "step": "15s",
    "tagKeys": "target",
    "textFormat": "fault active on {{target}}",
    "titleFormat": "chaos",
    "useValueForTime": False,
}
"""Shades the time while a chaos fault is active (``soakmon_chaos_active``) on every panel."""


def _build(title: str, uid: str, description: str, rows: Rows, variables: list[Any]) -> Doc:
    d = (
        gd.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["soakmon"])
        .refresh("30s")
        .time("now-3h", "now")
        .timezone("browser")
        .editable()
    )
    for v in variables:
        d = d.with_variable(v)
    for row_title, panels in rows:
        d = d.with_row(gd.Row(row_title))
        for p in panels:
            d = d.with_panel(_panel(p))
    doc: Doc = json.loads(json.dumps(d.build(), cls=JSONEncoder, sort_keys=True))
    doc.setdefault("annotations", {}).setdefault("list", []).append(CHAOS_ANNOTATION)
    return doc


def overview() -> Doc:
    req = f"soakmon_requests_total{{{T}}}"
    soak_req = f'soakmon_requests_total{{suite="soak",{T}}}'
    soak_err = f'soakmon_requests_total{{suite="soak",outcome!="ok",{T}}}'
    bucket = f"soakmon_request_duration_seconds_bucket{{{T}}}"

    def burn(window: str) -> str:
        return (
            f"((sum by (target) (rate({soak_err}[{window}]))"
            f" or sum by (target) (rate({soak_req}[{window}])) * 0)"
            f" / sum by (target) (rate({soak_req}[{window}]))) / $error_budget"
        )

    rows = [
        ("Invariants", [
            P("Checks failing now", "stat",
              [Q(f"count(soakmon_check_passing{{{T}}} == 0) or vector(0)", instant=True)],
              description="Checks whose last evaluation failed.", width=4),
            _check_status("Invariant status per check", T, "suite, scenario, check", 10),
            _checks_failing("Active violations", T, 10),
            _violations_over_time(T, "suite", 12),
            P("Checks that could not be evaluated", "timeseries",
              [Q(f"sum by (suite, check) (increase(soakmon_check_errors_total{{{T}}}[{RATE}]))",
                 "{{suite}} / {{check}}")],
              description=f"{EMPTY_ON_PURPOSE} Errors, not violations: a value the check needs "
              "was missing or a setup step was refused (never an alert).", width=12),
        ]),
        ("SLOs", [
            P("SLO attainment", "stat",
              [Q(f"min by (target, slo) (soakmon_slo_passing{{{T}}})", "{{target}} {{slo}}",
                 instant=True)],
              description="1 while the SLO holds over its window.", width=6),
            P("Error ratio (SLO window)", "timeseries",
              [Q(f"soakmon_slo_error_ratio{{{T}}}", "{{target}}")], unit="percentunit", width=6),
            P("Error budget burn rate", "timeseries",
              [Q(burn("5m"), "{{target}} 5m"), Q(burn("1h"), "{{target}} 1h")],
              description="Soak error ratio over the budget ($error_budget); 1 burns it exactly.",
              width=6),
            P("P95 latency (SLO window)", "timeseries",
              [Q(f"soakmon_slo_latency_p95_seconds{{{T}}}", "{{target}}")], unit="s", width=6),
        ]),
        ("Traffic", [
            P("Latency percentiles", "timeseries",
              [Q(f"histogram_quantile({q}, sum by (le) (rate({bucket}[{RATE}])))",
                 f"p{int(q * 100)}") for q in (0.5, 0.95, 0.99)], unit="s"),
            P("Latency heatmap", "heatmap",
              [Q(f"sum by (le) (increase({bucket}[{RATE}]))", "{{le}}", heatmap=True)]),
            P("Error ratio by outcome", "timeseries",
              [Q(f'sum by (outcome) (rate(soakmon_requests_total{{outcome!="ok",{T}}}[{RATE}]))'
                 f" / ignoring (outcome) group_left sum(rate({req}[{RATE}]))"
                 f" or sum(rate({req}[{RATE}])) * 0", "{{outcome}}")],
              unit="percentunit"),
            P("Throughput", "timeseries",
              [Q(f"sum by (suite, scenario) (rate({req}[{RATE}]))", "{{suite}} / {{scenario}}")],
              unit="reqps", width=24),
        ]),
        ("Resources", [
            P("Database pool", "timeseries",
              [Q(f"soakmon_target_db_pool_size{{{T}}}", "{{target}} size"),
               Q(f"soakmon_target_db_pool_in_use{{{T}}}", "{{target}} in use"),
               Q(f"soakmon_target_db_pool_waiting{{{T}}}", "{{target}} waiting")]),
            P("Target memory", "timeseries",
              [Q(f"soakmon_target_memory_bytes{{{T}}}", "{{target}} {{probe}}")], unit="bytes"),
            P("Monitor memory", "timeseries",
              [Q("soakmon_daemon_resident_memory_bytes", "{{instance}}")], unit="bytes"),
            P("Soak analyses", "stat",
              [Q(f"min by (target, analysis) (soakmon_soak_analysis_passing{{{T}}})",
                 "{{target}} {{analysis}}", instant=True)],
              description="Memory growth, pool saturation, throughput drop, burst recovery: "
              "1 holds.",
              width=12),
            P("Probe errors", "timeseries",
              [Q(f"sum by (probe) (increase(soakmon_probe_errors_total[{RATE}]))", "{{probe}}")],
              description=f"{EMPTY_ON_PURPOSE} Probe reads that failed.", width=12),
        ]),
        ("Suite runs", [
            P("Runs by result (1h)", "timeseries",
              [Q("sum by (suite, result) (increase(soakmon_suite_runs_total[1h]))",
                 "{{suite}} {{result}}")]),
            P("Missed runs (1h)", "timeseries",
              [Q("sum by (suite) (increase(soakmon_suite_missed_runs_total[1h]))", "{{suite}}")],
              description="Slots skipped because the previous run was still going."),
            P("Run duration p95", "timeseries",
              [Q("histogram_quantile(0.95, sum by (suite, le) "
                 f"(rate(soakmon_suite_run_duration_seconds_bucket[{RATE}])))", "{{suite}}")],
              unit="s"),
            P("Time since last run", "stat",
              [Q("time() - max by (suite) (soakmon_suite_last_run_timestamp_seconds)", "{{suite}}",
                 instant=True)], unit="s", width=24, height=5),
        ]),
    ]  # fmt: skip
    variables = [
        _datasource_var(),
        _query_var("target", "Target", "label_values(soakmon_slo_passing, target)"),
        _budget_var(),
    ]
    return _build(
        "soakmon overview", "soakmon-overview",
        "Invariants, SLOs, latency, errors, throughput, resources and suite runs of soakmon.",
        rows, variables,
    )  # fmt: skip


def suite() -> Doc:
    s = f'suite=~"$suite",{T}'
    rows = [
        ("Checks", [
            _check_status("Check status", s, "scenario, check", 12),
            _checks_failing("Violations of this suite", s, 12),
            _violations_over_time(s, "scenario", 24),
        ]),
        ("Race delivery", [
            _phase_spread("Send spread of concurrent phases (1h)", s, "send",
              "How far apart each concurrent phase's requests left soakmon: first "
              "to last final byte written (sync none: first to last request aiohttp wrote), "
              "p50 and p99 over the phases of the last hour. Above the weak bound "
              "(max_spread_us, default 1 ms) an attempt is weak."),
            _phase_spread("Arrival spread of concurrent phases (1h)", s, "arrival",
              "First to last request as the target saw them arrive (a target that "
              "reports it, like the reference target's X-Arrival-Ns), p50 and p99 over the "
              "last hour. Wider than the send spread: the target reads one request at a time."),
            P("Race attempts by result (1h)", "timeseries",
              [Q("sum by (scenario, result) "
                 f"(increase(soakmon_scenario_attempts_total{{{s}}}[1h]))",
                 "{{scenario}} {{result}}")],
              width=8,
              description="Attempts of race scenarios in the last hour: held, violated, weak "
              "(sent wider apart than the bound: re-run, never counted as held) or error."),
        ]),
        ("Runs", [
            P("Runs by result (1h)", "timeseries",
              [Q('sum by (result) (increase(soakmon_suite_runs_total{suite=~"$suite"}[1h]))',
                 "{{result}}")]),
            P("Run duration", "timeseries",
              [Q(f"histogram_quantile({q}, sum by (le) "
                 f'(rate(soakmon_suite_run_duration_seconds_bucket{{suite=~"$suite"}}[{RATE}])))',
                 name) for q, name in (("0.5", "p50"), ("0.95", "p95"))], unit="s"),
            P("Time since last run", "stat",
              [Q('time() - max(soakmon_suite_last_run_timestamp_seconds{suite=~"$suite"})',
                 instant=True)], unit="s"),
        ]),
        ("Requests", [
            P("Requests by operation", "timeseries",
              [Q(f"sum by (operation) (rate(soakmon_requests_total{{{s}}}[{RATE}]))",
                 "{{operation}}")], unit="reqps", width=12),
            P("Outcomes", "timeseries",
              [Q(f"sum by (outcome) (rate(soakmon_requests_total{{{s}}}[{RATE}]))",
                 "{{outcome}}")],
              unit="reqps", width=12),
            P("P95 latency by operation", "timeseries",
              [Q("histogram_quantile(0.95, sum by (operation, le) "
                 f"(rate(soakmon_request_duration_seconds_bucket{{{s}}}[{RATE}])))",
                 "{{operation}}")],
              unit="s", width=12),
            P("Latency heatmap", "heatmap",
              [Q(f"sum by (le) (increase(soakmon_request_duration_seconds_bucket{{{s}}}[{RATE}]))",
                 "{{le}}", heatmap=True)], width=12),
        ]),
    ]  # fmt: skip
    variables = [
        _datasource_var(),
        _query_var("target", "Target", "label_values(soakmon_slo_passing, target)"),
        _query_var("suite", "Suite", "label_values(soakmon_suite_runs_total, suite)", all_=False),
    ]
    return _build(
        "soakmon suite", "soakmon-suite",
        "One suite in detail: its checks, runs, requests and latency.",
        rows, variables,
    )  # fmt: skip


DASHBOARDS = {"soakmon-overview.json": overview, "soakmon-suite.json": suite}


def render() -> dict[str, str]:
    return {
        name: json.dumps(build(), indent=2, sort_keys=True) + "\n"
        for name, build in DASHBOARDS.items()
    }


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale: list[Path] = []
    for name, text in render().items():
        for out in OUTPUTS:
            path = out / name
            if check:
                if not path.exists() or path.read_text() != text:
                    stale.append(path)
            else:
                out.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    if stale:
        names = ", ".join(str(p.relative_to(HERE.parents[1])) for p in stale)
        print(f"out of date: {names} (run: python deploy/grafana/dashboards.py)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
