"""The HTML report (``--html PATH``): one self-contained file, no external URLs.

Rendered with Jinja2 (autoescaping on: every string from the target is escaped); plots are
inline SVG computed by ``monitor.report.plots``; CSS is inline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache

import jinja2

from monitor.report.console import not_the_api
from monitor.report.plots import Plot, histogram_plot, timeline_plot
from monitor.report.registry import register
from monitor.report.text import clean, fmt_ms, fmt_s
from monitor.suites.results import RunResult, ScenarioResult, format_spread


@dataclass(frozen=True, slots=True)
class ScenarioView:
    anchor: str
    result: ScenarioResult
    timeline: Plot
    histogram: Plot
    refused: int  # 4xx answers: refusals, often the expected outcome of a race
    errors: int  # server errors (5xx, or declared by the profile) and requests without answer


def answer_counts(sc: ScenarioResult) -> tuple[int, int]:
    """``(refused, errors)`` of a scenario's requests: 4xx answers apart from server errors
    (HTTP 5xx, or the answers the profile declares server errors, ``server_errors``) and
    requests that got no answer. An expected refusal (409, 412) is not an error."""
    codes: dict[str, int] = sc.requests.get("status_codes", {}) or {}
    answered = refused = fivexx = 0
    for code, count in codes.items():
        status = int(code) if str(code).isdigit() else 0
        answered += count
        refused += count if 400 <= status < 500 else 0
        fivexx += count if status >= 500 else 0
    unanswered = max(0, int(sc.requests.get("total", 0)) - answered)
    return refused, max(fivexx, sum(sc.server_errors.values())) + unanswered


def _pretty(value: object) -> str:
    """Indented JSON of a (bounded) report value, control characters made visible."""
    return clean(json.dumps(value, indent=2, ensure_ascii=False, default=str))


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("monitor.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(clean=clean, ms=fmt_ms, secs=fmt_s, pretty=_pretty, spread=format_spread)
    return env


def _view(index: int, sc: ScenarioResult) -> ScenarioView:
    p95 = sc.requests.get("latency_ms", {}).get("p95")
    refused, errors = answer_counts(sc)
    return ScenarioView(
        anchor=f"scenario-{index}",
        result=sc,
        timeline=timeline_plot(sc.timeline, p95 if isinstance(p95, int | float) else None),
        histogram=histogram_plot(sc.histogram),
        refused=refused,
        errors=errors,
    )


def render_html_text(run: RunResult) -> str:
    views = [_view(i, sc) for i, sc in enumerate(run.scenarios)]
    template = _environment().get_template("report.html.j2")
    note = not_the_api(run) if run.setup_errors_only else None
    return template.render(run=run, views=views, counts=run.counts, setup_note=note)


@register("html", "HTML report")
def render_html(run: RunResult) -> bytes:
    return render_html_text(run).encode("utf-8", "backslashreplace")
