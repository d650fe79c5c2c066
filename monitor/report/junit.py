"""JUnit XML (``--junit PATH``) for Jenkins, GitLab and other CI test-report viewers.

``<testsuites>`` → one ``<testsuite>`` per suite → one ``<testcase>`` per scenario, with one
``<failure>`` per failed check (expected / observed / evidence in its text), one ``<error>`` per
check that could not be evaluated (not a violation) and ``<skipped>`` with the reason a scenario
is not applicable. A scenario run in attempts has ``<properties>``: attempt counts and each
concurrent phase's start / send / arrival spread in microseconds.
``failures``, ``errors`` and ``skipped`` count test cases, as JUnit consumers
expect.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from monitor.report.registry import register
from monitor.report.text import clean, fmt_ms
from monitor.suites.results import CheckResult, RunResult, ScenarioResult, SuiteResult


def _timestamp(started_at: str) -> str:
    """JUnit wants ``YYYY-MM-DDTHH:MM:SS`` without zone: convert to UTC when we can parse it."""
    try:
        parsed = datetime.fromisoformat(started_at)
    except ValueError:
        return clean(started_at)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.isoformat(timespec="seconds")


def _secs(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _failure_text(check: CheckResult) -> str:
    lines = [f"expected: {check.expected}", f"observed: {check.observed}"]
    if check.message:
        lines.append(f"message: {check.message}")
    if check.evidence:
        lines.append("evidence:")
        lines += [f"  {e}" for e in check.evidence]
    return clean("\n".join(lines))


def _requests_text(req: dict[str, Any]) -> str:
    lat = req.get("latency_ms", {})
    codes = ", ".join(f"{k}: {v}" for k, v in sorted(req.get("status_codes", {}).items()))
    lines = [
        f"requests: {req.get('total', 0)} ({req.get('success_count', 0)} ok, "
        f"{req.get('error_count', 0)} errors); status codes: {codes or 'none'}",
        "latency: " + ", ".join(f"{q} {fmt_ms(lat.get(q))}" for q in ("p50", "p95", "p99", "max")),
    ]
    lines += [f"error: {e}" for e in req.get("errors", [])]
    return "\n".join(lines)


def _micros(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds * 1e6:.1f}"


def _attempt_properties(case: ET.Element, sc: ScenarioResult) -> list[str]:
    """``<properties>`` of a scenario that ran in attempts (counts, start spreads in µs, one
    per attempt and phase) and the summary line for ``system-out``."""
    attempts = sc.attempts
    if attempts is None or not attempts.runs:
        return []
    props = ET.SubElement(case, "properties")
    values: list[tuple[str, str]] = [
        ("attempts", str(len(attempts.runs))),
        ("attempts_planned", str(attempts.planned)),
        ("attempts_violated", str(attempts.violated)),
        ("attempts_held", str(attempts.held)),
        ("attempts_weak", str(attempts.weak)),
        ("attempts_summary", attempts.summary()),
    ]
    if attempts.max_spread_s is not None:
        values.append(("max_spread_bound_us", _micros(attempts.max_spread_s)))
    for key, spread in (
        ("max_send_spread_us", attempts.max_spread()),
        ("max_arrival_spread_us", attempts.max_spread(arrival=True)),
    ):
        if spread is not None:
            values.append((key, _micros(spread)))
    for a in attempts.runs:
        for phase in a.phases:
            key = f"attempt{a.attempt}.{phase.phase}"
            values.append((f"{key}.sync", phase.sync))
            values += [
                (f"{key}.{name}_spread_us", _micros(value))
                for name, value in (
                    ("start", phase.start_spread_s),
                    ("send", phase.send_spread_s),
                    ("arrival", phase.arrival_spread_s),
                )
                if value is not None
            ]
    for name, value in values:
        ET.SubElement(props, "property", name=name, value=clean(value))
    return [f"attempts: {attempts.summary()}"]


def _testcase(parent: ET.Element, suite: SuiteResult, sc: ScenarioResult) -> None:
    case = ET.SubElement(
        parent,
        "testcase",
        name=clean(sc.name),
        classname=clean(suite.name),
        time=_secs(sc.duration_s),
    )
    attempts_line = _attempt_properties(case, sc)
    if sc.status == "skipped":
        ET.SubElement(case, "skipped", message=clean(sc.skip_reason or "skipped"))
    failed = sc.failed_checks
    for check in failed:
        failure = ET.SubElement(
            case,
            "failure",
            type="check",
            message=clean(f"{check.name}: observed {check.observed}, expected {check.expected}"),
        )
        failure.text = _failure_text(check)
    if sc.status == "failed" and not failed:
        ET.SubElement(
            case, "failure", type="check", message="scenario failed without a failed check"
        )
    if sc.status == "error":
        for check in sc.error_checks:
            error = ET.SubElement(
                case, "error", type="not-evaluated", message=clean(f"{check.name}: {check.message}")
            )
            error.text = _failure_text(check)
    out = [_requests_text(sc.requests), *attempts_line]
    out += [
        f"{_MARK[c.status or 'failed']} {c.name}: observed {c.observed}, expected {c.expected}"
        for c in sc.checks
    ]
    ET.SubElement(case, "system-out").text = clean("\n".join(out))


_MARK = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "not_applicable": "N/A"}


def _totals(el: ET.Element, counts: dict[str, int], duration_s: float) -> None:
    el.set("tests", str(sum(counts.values())))
    el.set("failures", str(counts["failed"]))
    el.set("errors", str(counts["error"]))
    el.set("skipped", str(counts["skipped"]))
    el.set("time", _secs(duration_s))


@register("junit", "JUnit XML report")
def render_junit(run: RunResult) -> bytes:
    root = ET.Element("testsuites", name="soakmon")
    _totals(root, run.counts, run.duration_s)
    timestamp = _timestamp(run.started_at)
    for suite in run.suites:
        el = ET.SubElement(root, "testsuite", name=clean(suite.name), timestamp=timestamp)
        _totals(el, suite.counts, sum(sc.duration_s for sc in suite.scenarios))
        props = ET.SubElement(el, "properties")
        ET.SubElement(props, "property", name="target", value=clean(run.target))
        for key, value in (("profile", run.profile), ("seed", run.seed)):
            if value is not None:
                ET.SubElement(props, "property", name=key, value=clean(value))
        for sc in suite.scenarios:
            _testcase(el, suite, sc)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"
