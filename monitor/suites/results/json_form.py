"""The JSON form of a run: ``to_json`` / ``from_json`` (the report contract of design.md,
``schema_version`` 1, plus additive keys: ``status``, ``skip_reason``, ``evidence``, ``spec_ref``,
``timeline``, ``attempts`` …). ``from_json`` raises ``ReportFormatError`` naming the bad field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monitor.suites.results.attempts import attempts_from_json
from monitor.suites.results.check import CHECK_STATUSES, CheckResult, CheckStatus
from monitor.suites.results.json_fields import ReportFormatError, get_field, items_of
from monitor.suites.results.latency import HistogramBucket, TimelineSample
from monitor.suites.results.requests import empty_requests, requests_from_json
from monitor.suites.results.run import STATUSES, RunResult, ScenarioResult, SuiteResult

SCHEMA_VERSION = 1


def to_json(run: RunResult) -> dict[str, Any]:
    """The report document of design.md (schema_version 1) plus additive keys."""
    return {
        "schema_version": SCHEMA_VERSION,
        "target": run.target,
        "started_at": run.started_at,
        "duration_s": round(run.duration_s, 6),
        "passed": run.passed,
        "status": run.status,
        "counts": run.counts,
        "profile": run.profile,
        "seed": run.seed,
        "suites": [
            {
                "name": s.name,
                "passed": s.passed,
                "counts": s.counts,
                "scenarios": [_scenario_to_json(sc) for sc in s.scenarios],
            }
            for s in run.suites
        ],
    }


def _scenario_to_json(sc: ScenarioResult) -> dict[str, Any]:
    return {
        "name": sc.name,
        "passed": sc.passed,
        "status": sc.status,
        "skip_reason": sc.skip_reason,
        "description": sc.description,
        "spec_ref": sc.spec_ref,
        "duration_s": round(sc.duration_s, 6),
        "requests": sc.requests,
        "server_errors": dict(sc.server_errors),
        "outcomes": {op: dict(codes) for op, codes in sc.outcomes.items()},
        "state": sc.state,
        "extracted": sc.extracted,
        "checks": [
            {
                "name": c.name,
                "passed": c.passed,
                "expected": c.expected,
                "observed": c.observed,
                "message": c.message,
                "evidence": list(c.evidence),
                "status": c.status,
            }
            for c in sc.checks
        ],
        "timeline": [
            {
                "offset_s": t.offset_s,
                "latency_ms": t.latency_ms,
                "ok": t.ok,
                "operation": t.operation,
                "status": t.status,
            }
            for t in sc.timeline
        ],
        "histogram": [
            {"lower_ms": b.lower_ms, "upper_ms": b.upper_ms, "count": b.count} for b in sc.histogram
        ],
        "attempts": None if sc.attempts is None else sc.attempts.to_json(),
    }


def _check_status(obj: Mapping[str, Any], path: str) -> CheckStatus:
    default = "passed" if get_field(obj, "passed", bool, path) else "failed"
    status = get_field(obj, "status", str, path, default=default)
    if status not in CHECK_STATUSES:
        raise ReportFormatError(f"{path}.status: expected one of {', '.join(CHECK_STATUSES)}")
    return status


def _scenario_from_json(obj: dict[str, Any], suite: str, path: str) -> ScenarioResult:
    passed = get_field(obj, "passed", bool, path)
    status = get_field(obj, "status", str, path, default="passed" if passed else "failed")
    if status not in STATUSES:
        raise ReportFormatError(f"{path}.status: expected one of {', '.join(STATUSES)}")
    return ScenarioResult(
        name=get_field(obj, "name", str, path),
        suite=suite,
        status=status,
        duration_s=get_field(obj, "duration_s", float, path),
        requests=requests_from_json(obj.get("requests", empty_requests()), f"{path}.requests"),
        checks=[
            CheckResult(
                name=get_field(c, "name", str, p),
                passed=get_field(c, "passed", bool, p),
                expected=get_field(c, "expected", str, p),
                observed=get_field(c, "observed", str, p),
                message=get_field(c, "message", str, p, default=""),
                evidence=[str(e) for e in get_field(c, "evidence", list, p, default=[])],
                status=_check_status(c, p),
            )
            for p, c in items_of(obj, "checks", path)
        ],
        skip_reason=get_field(obj, "skip_reason", str, path, default=None),
        description=get_field(obj, "description", str, path, default=""),
        spec_ref=get_field(obj, "spec_ref", str, path, default=None),
        state=get_field(obj, "state", dict, path, default={}),
        extracted=get_field(obj, "extracted", dict, path, default={}),
        server_errors={
            str(k): int(v)
            for k, v in get_field(obj, "server_errors", dict, path, default={}).items()
        },
        outcomes={
            str(op): {str(c): int(n) for c, n in codes.items()}
            for op, codes in get_field(obj, "outcomes", dict, path, default={}).items()
            if isinstance(codes, dict)
        },
        timeline=[
            TimelineSample(
                get_field(t, "offset_s", float, p),
                get_field(t, "latency_ms", float, p),
                get_field(t, "ok", bool, p),
                get_field(t, "operation", str, p, default=""),
                get_field(t, "status", int, p, default=None),
            )
            for p, t in items_of(obj, "timeline", path)
        ],
        histogram=[
            HistogramBucket(
                get_field(b, "lower_ms", float, p),
                get_field(b, "upper_ms", float, p),
                get_field(b, "count", int, p),
            )
            for p, b in items_of(obj, "histogram", path)
        ],
        attempts=(
            attempts_from_json(obj["attempts"], f"{path}.attempts")
            if isinstance(obj.get("attempts"), dict)
            else None
        ),
    )


def from_json(doc: Mapping[str, Any]) -> RunResult:
    """Parse a report document; raises ``ReportFormatError`` naming the bad field."""
    if not isinstance(doc, Mapping):
        raise ReportFormatError("report: expected a JSON object")
    version = doc.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ReportFormatError(f"schema_version: expected {SCHEMA_VERSION}, got {version!r}")
    suites = []
    for path, s in items_of(doc, "suites", "report"):
        name = get_field(s, "name", str, path)
        scenarios = [_scenario_from_json(sc, name, p) for p, sc in items_of(s, "scenarios", path)]
        suites.append(SuiteResult(name=name, scenarios=scenarios))
    return RunResult(
        target=get_field(doc, "target", str, "report"),
        started_at=get_field(doc, "started_at", str, "report"),
        duration_s=get_field(doc, "duration_s", float, "report"),
        suites=suites,
        profile=get_field(doc, "profile", str, "report", default=None),
        seed=get_field(doc, "seed", int, "report", default=None),
    )
