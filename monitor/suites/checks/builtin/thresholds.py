"""Thresholds as checks: ``latency``, ``error_rate``, ``duration``, ``no_timeouts``."""

from __future__ import annotations

from collections import Counter

from pydantic import Field, model_validator

from monitor.suites.checks.context import CheckContext
from monitor.suites.checks.registry import CheckArgs, checker
from monitor.suites.checks.verdict import ops_evidence, plural, verdict
from monitor.suites.expressions.check_args import CheckDataError
from monitor.suites.results import CheckResult


class LatencyArgs(CheckArgs):
    kind: str | None = Field(None, description="operation kind; default: all ops")
    p50: float | None = Field(None, gt=0, description="ms")
    p95: float | None = Field(None, gt=0, description="ms")
    p99: float | None = Field(None, gt=0, description="ms")
    max: float | None = Field(None, gt=0, description="ms")

    @model_validator(mode="after")
    def _some(self) -> LatencyArgs:
        if all(getattr(self, q) is None for q in ("p50", "p95", "p99", "max")):
            raise ValueError("give at least one of p50, p95, p99, max (milliseconds)")
        return self


def _what(kind: str | None) -> str:
    return kind or "all ops"


@checker("latency", args=LatencyArgs)
def latency(ctx: CheckContext, args: LatencyArgs) -> CheckResult:
    """Latency percentiles ≤ limits (ms), per kind or overall."""
    stats = ctx.stats(args.kind)
    if stats.count == 0:
        raise CheckDataError(f"no requests of {_what(args.kind)} to measure")
    limits = {q: v for q in ("p50", "p95", "p99", "max") if (v := getattr(args, q)) is not None}
    over = {q: getattr(stats, q) for q, v in limits.items() if getattr(stats, q) > v}
    ops = ctx.history.by_kind(*((args.kind,) if args.kind else ()))
    slowest = sorted(ops, key=lambda op: op.duration_ms or 0.0, reverse=True)[:5]
    return verdict(
        "latency",
        not over,
        ", ".join(f"{q} ≤ {v:g} ms" for q, v in limits.items()) + f" ({_what(args.kind)})",
        ", ".join(f"{q} = {getattr(stats, q):.1f} ms" for q in limits)
        + f" over {plural(stats.count, 'request')}",
        ", ".join(f"{q} {v:.1f} ms > {limits[q]:g} ms" for q, v in over.items()),
        [f"{op.duration_ms:.1f} ms: {op.describe()}" for op in slowest if op.duration_ms],
    )


class ErrorRateArgs(CheckArgs):
    kind: str | None = Field(None, description="operation kind; default: all ops")
    max_percent: float = Field(ge=0, le=100, description="largest allowed error rate, percent")


@checker("error_rate", args=ErrorRateArgs)
def error_rate(ctx: CheckContext, args: ErrorRateArgs) -> CheckResult:
    """Share of ops that did not end ok ≤ max_percent."""
    stats = ctx.stats(args.kind)
    if stats.count == 0:
        raise CheckDataError(f"no requests of {_what(args.kind)} to measure")
    rate = stats.error_rate * 100.0
    ops = ctx.history.by_kind(*((args.kind,) if args.kind else ()))
    bad = [op for op in ops if not op.ok]
    codes = ", ".join(f"{c}: {n}" for c, n in Counter(op.code for op in bad).most_common())
    return verdict(
        "error_rate",
        rate <= args.max_percent,
        f"error rate ≤ {args.max_percent:g} % ({_what(args.kind)})",
        f"{rate:.2f} % ({stats.errors} of {stats.count})" + (f"; {codes}" if codes else ""),
        f"error rate {rate:.2f} % > {args.max_percent:g} %" if rate > args.max_percent else "",
        ops_evidence(bad, limit=10),
    )


class DurationArgs(CheckArgs):
    max_s: float = Field(gt=0, description="longest allowed phase duration, seconds")


@checker("duration", args=DurationArgs)
def duration(ctx: CheckContext, args: DurationArgs) -> CheckResult:
    """The phase finished within max_s seconds."""
    ok = ctx.duration_s <= args.max_s
    return verdict(
        "duration",
        ok,
        f"phase ≤ {args.max_s:g} s",
        f"{ctx.duration_s:.2f} s for {plural(len(ctx.history), 'op')}",
        "" if ok else f"phase took {ctx.duration_s:.2f} s > {args.max_s:g} s",
    )


class NoTimeoutsArgs(CheckArgs):
    kind: str | None = Field(None, description="operation kind; default: all ops")


@checker("no_timeouts", args=NoTimeoutsArgs)
def no_timeouts(ctx: CheckContext, args: NoTimeoutsArgs) -> CheckResult:
    """No op timed out."""
    ops = ctx.history.by_kind(*((args.kind,) if args.kind else ()))
    timed_out = [op for op in ops if op.timed_out]
    count = max(len(timed_out), ctx.stats(args.kind).timeouts)
    return verdict(
        "no_timeouts",
        count == 0,
        f"0 timeouts ({_what(args.kind)})",
        f"{count} of {plural(len(ops), 'op')} timed out",
        f"{plural(count, 'op')} timed out" if count else "",
        ops_evidence(timed_out),
    )
