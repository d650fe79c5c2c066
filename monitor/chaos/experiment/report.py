"""An experiment run as a report: console text, JSON, JUnit XML and HTML. The HTML report draws
the workload's p95 latency and errors per second with the actions as shaded spans over them
(the timeline of the fault against what the users saw)."""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET
from typing import Any

from monitor.chaos.experiment.result import ExperimentResult

_MARK = {True: "ok  ", False: "FAIL", None: "n/a "}


def render_console(result: ExperimentResult) -> str:
    doc = result.to_json()
    lines = [f"experiment {result.name} against {result.target}: {result.status.upper()}"
             + (f" — {result.reason}" if result.reason else "")]  # fmt: skip
    if doc["phases"]:
        lines.append("")
        lines.append(f"  {'phase':<8} {'span (s)':>13} {'requests':>9} {'errors':>7} "
                     f"{'unknown':>8} {'p95 ms':>8}  SLO")  # fmt: skip
        for p in doc["phases"]:
            span = f"{p['start_s']:.1f}-{p['end_s']:.1f}"
            slo = {True: "met", False: "BROKEN", None: "-"}[p["slo_met"]]
            lines.append(f"  {p['name']:<8} {span:>13} {p.get('requests', 0):>9} "
                         f"{p.get('errors', 0):>7} {p.get('unknown', 0):>8} "
                         f"{p.get('p95_ms', 0):>8.1f}  {slo}")  # fmt: skip
    if doc["actions"]:
        lines.append("")
        lines.append("  actions:")
        for a in doc["actions"]:
            when = ""
            if a.get("started_s") is not None:
                end = a.get("reverted_s")
                when = f"{a['started_s']:.1f}s-{'?' if end is None else f'{end:.1f}s'} "
            err = f" ({a['error']})" if a.get("error") else ""
            lines.append(f"    {when}{a['name']} [{a['kind']}] {a['result']}: "
                         f"{a['description']}{err}{_measured(a)}")  # fmt: skip
    if result.recovery_s is not None:
        lines.append(f"\n  recovered {result.recovery_s:.2f}s after the last revert")
    if result.checks:
        lines.append("")
        for c in result.checks:
            lines.append(f"  {_MARK[c.passed]} [{c.phase}] {c.name}: {c.observed}")
    return "\n".join(lines) + "\n"


def _measured(action: dict[str, Any]) -> str:
    """``; recovered_after_s 4.2`` — what the action measured on revert (pods back, rollout)."""
    got = action.get("measured") or {}
    return "".join(f"; {k} {v:g}" for k, v in sorted(got.items()))


def render_json(result: ExperimentResult) -> bytes:
    return (json.dumps(result.to_json(), indent=2, allow_nan=False) + "\n").encode()


def render_junit(result: ExperimentResult) -> bytes:
    suite = ET.Element("testsuite", name=f"chaos.{result.name}", timestamp=result.started_at,
                       time=f"{result.duration_s:.3f}")  # fmt: skip
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}

    def case(name: str, classname: str) -> ET.Element:
        counts["tests"] += 1
        return ET.SubElement(suite, "testcase", name=name, classname=classname)

    if result.status in ("skipped", "aborted"):
        el = case("experiment", f"chaos.{result.name}")
        kind = "skipped" if result.status == "skipped" else "failure"
        counts["skipped" if kind == "skipped" else "failures"] += 1
        ET.SubElement(el, kind, message=result.reason)
    for c in result.checks:
        el = case(c.name, f"chaos.{result.name}.{c.phase.replace(' ', '_')}")
        if c.passed is False:
            counts["failures"] += 1
            ET.SubElement(el, "failure", message=c.observed).text = f"expected {c.expected}"
        elif c.passed is None:
            counts["errors"] += 1
            ET.SubElement(el, "error", message=c.observed).text = f"expected {c.expected}"
    for a in result.actions:
        el = case(f"{a.name} [{a.kind}]", f"chaos.{result.name}.actions")
        if a.result in ("failed", "revert-failed"):
            counts["errors"] += 1
            ET.SubElement(el, "error", message=a.error or a.result)
    for key, value in counts.items():
        suite.set(key, str(value))
    root = ET.Element("testsuites", name="soakmon chaos")
    root.append(suite)
    out: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return out + b"\n"


# -- HTML -------------------------------------------------------------------------------------

_W, _H, _PAD = 900, 260, 45


def _svg(doc: dict[str, Any]) -> str:
    tl = doc["timeline"]
    if not tl:
        return "<p>No workload samples.</p>"
    t_end = max([p["t"] + 1 for p in tl] + [a.get("reverted_s") or 0 for a in doc["actions"]])
    p95_max = max([p["p95_ms"] for p in tl] + [doc["slo"].get("p95_ms", 0) * 1.2, 1])
    err_max = max([p["errors"] for p in tl] + [1])

    def x(t: float) -> float:
        return float(_PAD + (_W - 2 * _PAD) * max(0.0, t) / t_end)

    def y(v: float, hi: float) -> float:
        return _H - _PAD - (_H - 2 * _PAD) * v / hi

    parts = [f'<svg viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" role="img" '
             'aria-label="latency, errors and chaos actions over time">']  # fmt: skip
    for i, a in enumerate(doc["actions"]):
        if a.get("started_s") is None:
            continue
        x0, x1 = x(a["started_s"]), x(a.get("reverted_s") or t_end)
        title = html.escape(f"{a['name']} [{a['kind']}] {a['result']}: {a['description']}")
        parts.append(f'<rect x="{x0:.1f}" y="{_PAD - 10 + 4 * i}" width="{max(x1 - x0, 2):.1f}" '
                     f'height="{_H - 2 * _PAD + 10}" fill="#f59e0b" opacity="0.18">'
                     f"<title>{title}</title></rect>")  # fmt: skip
        parts.append(f'<text x="{x0 + 3:.1f}" y="{_PAD - 14 + 12 * i}" font-size="11" '
                     f'fill="#92400e">{html.escape(a["name"])}</text>')  # fmt: skip
    for p in tl:
        if p["errors"]:
            h = (_H - 2 * _PAD) * p["errors"] / err_max * 0.5
            parts.append(f'<rect x="{x(p["t"]):.1f}" y="{_H - _PAD - h:.1f}" width="4" '
                         f'height="{h:.1f}" fill="#dc2626"><title>{p["errors"]} errors '
                         f'({p["unknown"]} unknown) at {p["t"]}s</title></rect>')  # fmt: skip
    pts = " ".join(f"{x(p['t'] + 0.5):.1f},{y(p['p95_ms'], p95_max):.1f}" for p in tl)
    parts.append(f'<polyline points="{pts}" fill="none" stroke="#2563eb" stroke-width="2"/>')
    slo = doc["slo"].get("p95_ms")
    if slo:
        parts.append(f'<line x1="{_PAD}" x2="{_W - _PAD}" y1="{y(slo, p95_max):.1f}" '
                     f'y2="{y(slo, p95_max):.1f}" stroke="#6b7280" stroke-dasharray="4 3"/>'
                     f'<text x="{_W - _PAD + 2}" y="{y(slo, p95_max) + 4:.1f}" font-size="10">'
                     f"SLO</text>")  # fmt: skip
    parts.append(f'<line x1="{_PAD}" x2="{_W - _PAD}" y1="{_H - _PAD}" y2="{_H - _PAD}" '
                 'stroke="#111"/>')  # fmt: skip
    parts.append(f'<text x="{_PAD}" y="{_H - 15}" font-size="11">0 s</text>'
                 f'<text x="{_W - _PAD - 30}" y="{_H - 15}" font-size="11">{t_end:.0f} s</text>'
                 f'<text x="5" y="{_PAD - 20}" font-size="11">p95 ms '
                 f"(max {p95_max:.0f})</text>")  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def render_html(result: ExperimentResult) -> bytes:
    doc = result.to_json()
    color = {"passed": "#15803d", "skipped": "#6b7280"}.get(result.status, "#b91c1c")
    rows = "".join(
        f"<tr><td>{html.escape(c['phase'])}</td><td>{html.escape(c['name'])}</td>"
        f"<td>{_MARK[c['passed']].strip()}</td><td>{html.escape(c['expected'])}</td>"
        f"<td>{html.escape(c['observed'])}</td></tr>"
        for c in doc["checks"]
    )
    acts = "".join(
        f"<tr><td>{html.escape(a['name'])}</td><td>{html.escape(a['kind'])}</td>"
        f"<td>{a.get('started_s') if a.get('started_s') is not None else ''}</td>"
        f"<td>{a.get('reverted_s') if a.get('reverted_s') is not None else ''}</td>"
        f"<td>{html.escape(a['result'])}</td><td>{html.escape(a['description'])}"
        f"{html.escape(' — ' + a['error']) if a.get('error') else ''}"
        f"{html.escape(_measured(a))}</td></tr>"
        for a in doc["actions"]
    )
    phases = "".join(
        f"<tr><td>{p['name']}</td><td>{p['start_s']}-{p['end_s']}</td>"
        f"<td>{p.get('requests', '')}</td><td>{p.get('errors', '')}</td>"
        f"<td>{p.get('unknown', '')}</td><td>{p.get('p95_ms', '')}</td>"
        f"<td>{ {True: 'met', False: 'broken', None: '-'}[p['slo_met']] }</td></tr>"
        for p in doc["phases"]
    )
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>soakmon chaos: {html.escape(result.name)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;color:#111}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ddd;padding:4px 8px;
text-align:left;font-size:14px}}.status{{color:{color};font-weight:bold}}</style></head><body>
<h1>Chaos experiment {html.escape(result.name)}</h1>
<p>Target {html.escape(result.target)} · started {html.escape(result.started_at)} ·
{result.duration_s:.1f} s · <span class="status">{result.status.upper()}</span>
{html.escape(result.reason)}</p>
<h2>Timeline</h2><p>Blue: workload p95 latency per second; red: errors (lost answers and
failures); amber spans: fault actions (hover for details); dashed: the SLO.</p>
{_svg(doc)}
<h2>Checks</h2><table><tr><th>phase</th><th>check</th><th>result</th><th>expected</th>
<th>observed</th></tr>{rows}</table>
<h2>Phases</h2><table><tr><th>phase</th><th>span (s)</th><th>requests</th><th>errors</th>
<th>unknown</th><th>p95 ms</th><th>SLO</th></tr>{phases}</table>
<h2>Actions</h2><table><tr><th>name</th><th>kind</th><th>start (s)</th><th>reverted (s)</th>
<th>result</th><th>what</th></tr>{acts}</table>
</body></html>
"""
    return page.encode()


__all__ = ["render_console", "render_html", "render_json", "render_junit"]
