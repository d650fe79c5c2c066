"""The result model of a run: checks, scenarios, suites, the run — and its JSON form.

Plain dataclasses, no I/O. Producers: the scenario runner and the checkers (``CheckResult``).
Consumers: the report writers (``monitor.report``), the daemon and the CLI.

``to_json`` / ``from_json`` implement the report contract of ``design.md`` (``schema_version`` 1)
plus additive keys (``status``, ``skip_reason``, ``evidence``, ``spec_ref``, ``timeline`` …).

Status rules. A check is ``passed``, ``failed`` (a violation), ``error`` (it could not be
evaluated: the message names the missing value; not a violation) or ``not_applicable`` (the target
does not provide what it needs; the reason says what). A scenario is ``failed`` when a check
failed, else ``error`` when a check (or its setup / read-back) errored, else ``passed`` when a check
passed, else ``skipped`` — shown as *not applicable* with ``skip_reason``. A suite or run passes
when no scenario failed or errored; not-applicable scenarios neither pass nor fail (the reports
show them prominently with their reasons).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar, cast

from monitor.errors import UsageError

T = TypeVar("T")

SCHEMA_VERSION = 1
#: Names of the pseudo-checks that report a scenario section that could not complete.
SECTION_CHECKS = frozenset({"setup", "readback"})
MAX_TIMELINE_POINTS = 2_000
MAX_HISTOGRAM_BUCKETS = 30

Status = Literal["passed", "failed", "error", "skipped"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "error", "skipped")
CheckStatus = Literal["passed", "failed", "error", "not_applicable"]
CHECK_STATUSES: tuple[CheckStatus, ...] = ("passed", "failed", "error", "not_applicable")


class ReportFormatError(UsageError, ValueError):
    """A report document does not follow the schema; the message names the field."""


@dataclass(slots=True)
class CheckResult:
    """The verdict of one check (invariant, threshold or CEL expression).

    ``status`` defaults from ``passed``; give ``status="error"`` (could not be evaluated) or
    ``"not_applicable"`` explicitly — ``passed`` then follows it (False)."""

    name: str
    passed: bool
    expected: str
    observed: str
    message: str = ""
    evidence: list[str] = field(default_factory=list)  # minimal contradicting ops/reads
    status: CheckStatus | None = None

    def __post_init__(self) -> None:
        if self.status is None:
            self.status = "passed" if self.passed else "failed"
        else:
            self.passed = self.status == "passed"

    @property
    def violated(self) -> bool:
        """A real violation (``failed``), as opposed to an error or not applicable."""
        return self.status == "failed"

    @classmethod
    def error(cls, name: str, expected: str, message: str, observed: str = "") -> CheckResult:
        """A check that could not be evaluated; ``message`` names the missing value."""
        first = message.splitlines()[0] if message else "could not be evaluated"
        return cls(name, False, expected, observed or f"error: {first}", message, status="error")

    @classmethod
    def not_applicable(cls, name: str, reason: str, expected: str = "") -> CheckResult:
        """A check whose needs the target does not meet; ``reason`` says which."""
        return cls(
            name, False, expected, f"not applicable: {reason}", reason, status="not_applicable"
        )


@dataclass(frozen=True, slots=True)
class TimelineSample:
    """One request on the latency-over-time plot."""

    offset_s: float  # seconds since the first request of the scenario
    latency_ms: float
    ok: bool
    operation: str
    status: int | None = None  # HTTP status; None when no response arrived


@dataclass(frozen=True, slots=True)
class HistogramBucket:
    """Requests whose latency lies in ``[lower_ms, upper_ms)``."""

    lower_ms: float
    upper_ms: float
    count: int


def empty_requests() -> dict[str, Any]:
    """The design.md ``requests`` object of a scenario that sent nothing."""
    return {
        "total": 0,
        "success_count": 0,
        "error_count": 0,
        "status_codes": {},
        "errors": [],
        "latency_ms": {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0},
    }


@dataclass(slots=True)
class ScenarioResult:
    """What one scenario did and whether its checks held."""

    name: str
    suite: str
    status: Status
    duration_s: float = 0.0
    requests: dict[str, Any] = field(default_factory=empty_requests)
    checks: list[CheckResult] = field(default_factory=list)
    skip_reason: str | None = None
    description: str = ""
    spec_ref: str | None = None  # the spec scenario title this scenario implements
    timeline: list[TimelineSample] = field(default_factory=list)  # ≤ MAX_TIMELINE_POINTS
    histogram: list[HistogramBucket] = field(default_factory=list)
    server_errors: dict[str, int] = field(default_factory=dict)  # HTTP 5xx status -> answers
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)  # operation -> code -> n
    state: dict[str, Any] = field(default_factory=dict)  # read back (bounded: see ``bounded``)
    extracted: dict[str, Any] = field(default_factory=dict)  # per operation: sample values

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def failed_checks(self) -> list[CheckResult]:
        """Checks that found a violation (not errors, not the not-applicable ones)."""
        return [c for c in self.checks if c.status == "failed"]

    @property
    def error_checks(self) -> list[CheckResult]:
        """Checks (or the setup / read-back) that could not be evaluated."""
        return [c for c in self.checks if c.status == "error"]

    @property
    def not_applicable_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == "not_applicable"]

    @property
    def not_applicable(self) -> bool:
        """The scenario did not run: the target does not provide what it needs."""
        return self.status == "skipped"

    @classmethod
    def skipped(cls, name: str, suite: str, reason: str, **kwargs: Any) -> ScenarioResult:
        """A scenario that is not applicable (e.g. the profile does not map an operation)."""
        return cls(name=name, suite=suite, status="skipped", skip_reason=reason, **kwargs)

    @classmethod
    def from_checks(
        cls, name: str, suite: str, checks: list[CheckResult], **kwargs: Any
    ) -> ScenarioResult:
        """A scenario that ran: failed when a check failed (or there is no check), else error
        when a check errored, else passed when a check passed, else not applicable."""
        statuses = {c.status for c in checks}
        status: Status
        if not checks or "failed" in statuses:
            status = "failed"
        elif "error" in statuses:
            status = "error"
        elif "passed" in statuses:
            status = "passed"
        else:
            status = "skipped"
            reasons = "; ".join(f"{c.name}: {c.message}" for c in checks)
            kwargs.setdefault("skip_reason", f"no check applies ({reasons})")
        return cls(name=name, suite=suite, status=status, checks=checks, **kwargs)


MAX_ITEMS = 8
MAX_CHARS = 200
MAX_DEPTH = 5


def bounded(value: Any, *, depth: int = MAX_DEPTH) -> Any:
    """A JSON-safe copy of ``value`` small enough for a report: lists keep their first
    ``MAX_ITEMS`` items (then ``"… and N more"``), maps their first ``MAX_ITEMS * 4`` keys,
    strings ``MAX_CHARS`` characters, nesting ``MAX_DEPTH`` levels."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_CHARS else value[: MAX_CHARS - 1] + "…"
    if depth <= 0:
        return "…"
    if isinstance(value, Mapping):
        keys = list(value)[: MAX_ITEMS * 4]
        out = {str(k): bounded(value[k], depth=depth - 1) for k in keys}
        if len(value) > len(keys):
            out["…"] = f"{len(value) - len(keys)} more keys"
        return out
    if isinstance(value, list | tuple):
        items = [bounded(v, depth=depth - 1) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            items.append(f"… and {len(value) - MAX_ITEMS} more")
        return items
    return bounded(str(value), depth=depth)


def _counts(scenarios: Iterable[ScenarioResult]) -> dict[str, int]:
    counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
    for s in scenarios:
        counts[s.status] += 1
    return counts


@dataclass(slots=True)
class SuiteResult:
    name: str
    scenarios: list[ScenarioResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not any(s.status in ("failed", "error") for s in self.scenarios)

    @property
    def counts(self) -> dict[str, int]:
        return _counts(self.scenarios)


@dataclass(slots=True)
class RunResult:
    target: str
    started_at: str  # ISO 8601, UTC
    duration_s: float
    suites: list[SuiteResult] = field(default_factory=list)
    profile: str | None = None
    seed: int | None = None

    @property
    def passed(self) -> bool:
        """No scenario failed or errored (every check that applies holds)."""
        return all(s.passed for s in self.suites)

    @property
    def status(self) -> Literal["passed", "failed", "error"]:
        """``failed`` when a check found a violation, else ``error`` when something could not
        be evaluated, else ``passed``."""
        counts = self.counts
        if counts["failed"]:
            return "failed"
        return "error" if counts["error"] else "passed"

    @property
    def setup_errors_only(self) -> bool:
        """Every scenario that ran errored before its checks (setup / read-back): the target
        most likely does not speak the profile's API."""
        ran = [s for s in self.scenarios if s.status != "skipped"]
        return bool(ran) and all(
            s.status == "error" and any(c.name in SECTION_CHECKS for c in s.error_checks)
            for s in ran
        )

    @property
    def scenarios(self) -> list[ScenarioResult]:
        return [sc for s in self.suites for sc in s.scenarios]

    @property
    def counts(self) -> dict[str, int]:
        return _counts(self.scenarios)


# --- helpers from the engine's results (structural types: no import of monitor.engine) ---------


class RecordLike(Protocol):
    """The fields of ``monitor.engine.RequestRecord`` used here."""

    @property
    def name(self) -> str: ...
    @property
    def start(self) -> float: ...
    @property
    def duration_ms(self) -> float: ...
    @property
    def status(self) -> int | None: ...
    @property
    def error(self) -> str | None: ...


class HistogramLike(Protocol):
    """The part of ``monitor.engine.LatencyHistogram`` used here."""

    def bucket_counts(self) -> list[tuple[float, int]]: ...


class ConcurrentResultLike(Protocol):
    """The parts of ``monitor.engine.ConcurrentResult`` used here."""

    @property
    def records(self) -> Sequence[Any]: ...
    @property
    def histogram(self) -> HistogramLike: ...
    def to_dict(self) -> dict[str, Any]: ...


def record_ok(record: RecordLike) -> bool:
    """Default success rule for plots: an HTTP answer below 400 and no transport error."""
    return record.error is None and record.status is not None and record.status < 400


def timeline_from(
    records: Iterable[RecordLike],
    *,
    origin: float | None = None,
    max_points: int = MAX_TIMELINE_POINTS,
    is_ok: Callable[[RecordLike], bool] = record_ok,
) -> list[TimelineSample]:
    """Samples for the latency-over-time plot, at most ``max_points``, sorted by offset.

    Deterministic down-sampling: failures get up to half of the budget (they are what a reader
    looks for), the rest is spread evenly over the successful requests.
    """
    ordered = sorted(records, key=lambda r: r.start)
    if not ordered or max_points <= 0:
        return []
    t0 = ordered[0].start if origin is None else origin
    bad = [r for r in ordered if not is_ok(r)]
    good = [r for r in ordered if is_ok(r)]
    if len(ordered) > max_points:
        bad = _spread(bad, max_points // 2)
        good = _spread(good, max_points - len(bad))
    chosen = sorted([*bad, *good], key=lambda r: r.start)
    bad_ids = {id(r) for r in bad}
    return [
        TimelineSample(
            offset_s=round(r.start - t0, 6),
            latency_ms=round(r.duration_ms, 3),
            ok=id(r) not in bad_ids,
            operation=r.name,
            status=r.status,
        )
        for r in chosen
    ]


def _spread(items: list[T], n: int) -> list[T]:
    if len(items) <= n:
        return items
    if n <= 0:
        return []
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def _nice_width(span: float, buckets: int) -> float:
    raw = max(span / buckets, 1e-3)
    mag = 10.0 ** math.floor(math.log10(raw))
    return next(float(m * mag) for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)


def histogram_from_counts(
    counts: Iterable[tuple[float, int]], *, max_buckets: int = MAX_HISTOGRAM_BUCKETS
) -> list[HistogramBucket]:
    """Equal-width latency buckets with a round width from ``(latency_ms, count)`` pairs.

    About ``2·∛n`` buckets (Rice rule), at least 5 and at most ``max_buckets`` (+1 for rounding).
    """
    pairs = [(v, n) for v, n in counts if math.isfinite(v) and n > 0]
    if not pairs:
        return []
    lo = min(v for v, _ in pairs)
    hi = max(v for v, _ in pairs)
    total = sum(n for _, n in pairs)
    target = max(1, min(max_buckets, max(5, round(2 * total ** (1 / 3)))))  # Rice rule
    width = _nice_width(hi - lo, target)
    start = math.floor(lo / width) * width
    n = max(1, min(max_buckets + 1, math.floor((hi - start) / width) + 1))
    buckets = [0] * n
    for v, c in pairs:
        buckets[min(n - 1, int((v - start) // width))] += c
    return [
        HistogramBucket(round(start + i * width, 6), round(start + (i + 1) * width, 6), c)
        for i, c in enumerate(buckets)
    ]


def histogram_from(
    latencies_ms: Iterable[float], *, max_buckets: int = MAX_HISTOGRAM_BUCKETS
) -> list[HistogramBucket]:
    """Equal-width latency buckets with a round width, from the lowest to the highest value."""
    return histogram_from_counts(((v, 1) for v in latencies_ms), max_buckets=max_buckets)


def observations_from(
    results: Sequence[ConcurrentResultLike],
    *,
    is_ok: Callable[[RecordLike], bool] = record_ok,
) -> tuple[list[TimelineSample], list[HistogramBucket]]:
    """Timeline (from the kept records) and histogram (from the engine's latency histograms,
    so it covers every request even when only a sample of records was kept)."""
    records: list[RecordLike] = [r for res in results for r in res.records]
    counts = [pair for res in results for pair in res.histogram.bucket_counts()]
    return timeline_from(records, is_ok=is_ok), histogram_from_counts(counts)


def requests_from(result: ConcurrentResultLike | None) -> dict[str, Any]:
    """The design.md ``requests`` object (``ConcurrentResult.to_dict()``), normalised."""
    if result is None:
        return empty_requests()
    return _requests_from_json(result.to_dict(), "requests")


# --- JSON (schema_version 1) ---------------------------------------------------------------


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
    }


def _get(obj: Mapping[str, Any], key: str, kind: type[T], path: str, default: Any = ...) -> T:
    if key not in obj:
        if default is ...:
            raise ReportFormatError(f"{path}.{key}: missing")
        return cast(T, default)
    value = obj[key]
    if value is None and default is None:
        return cast(T, None)
    ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise ReportFormatError(
            f"{path}.{key}: expected {kind.__name__}, got {type(value).__name__}"
        )
    return cast(T, value)


def _items(obj: Mapping[str, Any], key: str, path: str) -> list[tuple[str, dict[str, Any]]]:
    items = _get(obj, key, list, path, default=[])
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ReportFormatError(f"{path}.{key}[{i}]: expected an object")
        out.append((f"{path}.{key}[{i}]", item))
    return out


def _requests_from_json(obj: Any, path: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ReportFormatError(f"{path}: expected an object")
    lat = _get(obj, "latency_ms", dict, path, default={})
    codes = _get(obj, "status_codes", dict, path, default={})
    return {
        **obj,
        "total": _get(obj, "total", int, path, default=0),
        "success_count": _get(obj, "success_count", int, path, default=0),
        "error_count": _get(obj, "error_count", int, path, default=0),
        "status_codes": {str(k): int(v) for k, v in codes.items()},
        "errors": [str(e) for e in _get(obj, "errors", list, path, default=[])],
        "latency_ms": {
            q: _get(lat, q, float, f"{path}.latency_ms", default=0.0)
            for q in ("p50", "p95", "p99", "max")
        },
    }


def _check_status(obj: Mapping[str, Any], path: str) -> CheckStatus:
    default = "passed" if _get(obj, "passed", bool, path) else "failed"
    status = _get(obj, "status", str, path, default=default)
    if status not in CHECK_STATUSES:
        raise ReportFormatError(f"{path}.status: expected one of {', '.join(CHECK_STATUSES)}")
    return status


def _scenario_from_json(obj: dict[str, Any], suite: str, path: str) -> ScenarioResult:
    passed = _get(obj, "passed", bool, path)
    status = _get(obj, "status", str, path, default="passed" if passed else "failed")
    if status not in STATUSES:
        raise ReportFormatError(f"{path}.status: expected one of {', '.join(STATUSES)}")
    return ScenarioResult(
        name=_get(obj, "name", str, path),
        suite=suite,
        status=status,
        duration_s=_get(obj, "duration_s", float, path),
        requests=_requests_from_json(obj.get("requests", empty_requests()), f"{path}.requests"),
        checks=[
            CheckResult(
                name=_get(c, "name", str, p),
                passed=_get(c, "passed", bool, p),
                expected=_get(c, "expected", str, p),
                observed=_get(c, "observed", str, p),
                message=_get(c, "message", str, p, default=""),
                evidence=[str(e) for e in _get(c, "evidence", list, p, default=[])],
                status=_check_status(c, p),
            )
            for p, c in _items(obj, "checks", path)
        ],
        skip_reason=_get(obj, "skip_reason", str, path, default=None),
        description=_get(obj, "description", str, path, default=""),
        spec_ref=_get(obj, "spec_ref", str, path, default=None),
        state=_get(obj, "state", dict, path, default={}),
        extracted=_get(obj, "extracted", dict, path, default={}),
        server_errors={
            str(k): int(v) for k, v in _get(obj, "server_errors", dict, path, default={}).items()
        },
        outcomes={
            str(op): {str(c): int(n) for c, n in codes.items()}
            for op, codes in _get(obj, "outcomes", dict, path, default={}).items()
            if isinstance(codes, dict)
        },
        timeline=[
            TimelineSample(
                _get(t, "offset_s", float, p),
                _get(t, "latency_ms", float, p),
                _get(t, "ok", bool, p),
                _get(t, "operation", str, p, default=""),
                _get(t, "status", int, p, default=None),
            )
            for p, t in _items(obj, "timeline", path)
        ],
        histogram=[
            HistogramBucket(
                _get(b, "lower_ms", float, p),
                _get(b, "upper_ms", float, p),
                _get(b, "count", int, p),
            )
            for p, b in _items(obj, "histogram", path)
        ],
    )


def from_json(doc: Mapping[str, Any]) -> RunResult:
    """Parse a report document; raises ``ReportFormatError`` naming the bad field."""
    if not isinstance(doc, Mapping):
        raise ReportFormatError("report: expected a JSON object")
    version = doc.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ReportFormatError(f"schema_version: expected {SCHEMA_VERSION}, got {version!r}")
    suites = []
    for path, s in _items(doc, "suites", "report"):
        name = _get(s, "name", str, path)
        scenarios = [_scenario_from_json(sc, name, p) for p, sc in _items(s, "scenarios", path)]
        suites.append(SuiteResult(name=name, scenarios=scenarios))
    return RunResult(
        target=_get(doc, "target", str, "report"),
        started_at=_get(doc, "started_at", str, "report"),
        duration_s=_get(doc, "duration_s", float, "report"),
        suites=suites,
        profile=_get(doc, "profile", str, "report", default=None),
        seed=_get(doc, "seed", int, "report", default=None),
    )
