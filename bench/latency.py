"""Latency overhead at a fixed rate (issue 23): soakmon's p50/p99 beside vegeta's, same target.

Well below saturation (2,000 req/s against the private nginx by default) the target answers in
tens of microseconds, so what each tool reports is mostly its own overhead: the time from the
intended start of a request (open model, both tools) to its parsed answer. Both run pinned to
the generator core, one after the other, in the same benchmark run. The goal: soakmon's p50
within 0.5 ms and its p99 within 1 ms of vegeta's.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.generators import (
    VEGETA,
    VENV_BIN,
    Plan,
    Throughput,
    parse_soakmon,
    parse_vegeta,
    vegeta_needs,
)
from bench.procs import GENERATOR_CORE, BenchError, pinned, run_measured

P50_BOUND_MS = 0.5
P99_BOUND_MS = 1.0


@dataclass(slots=True)
class FixedRate:
    """Both tools' view of the same fixed-rate load."""

    rate: float
    duration_s: int
    soakmon: dict[str, Any]
    vegeta: dict[str, Any] | None
    p50_over_ms: float | None = None  # soakmon's p50 minus vegeta's
    p99_over_ms: float | None = None
    met: bool | None = None
    skipped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _summary(t: Throughput) -> dict[str, Any]:
    return {"requests": t.requests, "errors": t.errors, "rps": round(t.rps, 1),
            "p50_ms": t.p50_ms, "p99_ms": t.p99_ms}  # fmt: skip


def _soakmon_argv(plan: Plan, rate: float) -> list[str]:
    return [
        str(VENV_BIN / "soakmon"), "load", "--target", plan.target, "--path", plan.path,
        "--rate", f"{rate:g}", "--max-vus", str(plan.vus), "--duration", f"{plan.duration_s}s",
        "--json", str(plan.workdir / "soakmon.json"), "--quiet",
    ]  # fmt: skip


def _vegeta_argv(plan: Plan, rate: float) -> list[str]:
    targets = plan.workdir / "targets.txt"
    targets.write_text(f"GET {plan.target}{plan.path}\n")
    return [
        str(VEGETA), "attack", "-targets", str(targets), "-rate", f"{rate:g}/1s",
        "-max-workers", str(plan.vus), "-duration", f"{plan.duration_s}s",
        "-output", str(plan.workdir / "vegeta.bin"),
    ]  # fmt: skip


def _run(argv: list[str], plan: Plan) -> Any:
    limit = plan.duration_s * 3 + 60
    run = run_measured(pinned(GENERATOR_CORE, argv), timeout=limit, cwd=plan.workdir)
    if run.timed_out:
        raise BenchError(f"did not finish within {limit} s")
    return run


def fixed_rate(
    *, target: str, rate: float, duration_s: int, workdir: Path, max_vus: int = 64
) -> FixedRate:
    """Run soakmon then vegeta at ``rate`` for ``duration_s`` and compare their percentiles."""
    plans = {}
    for name in ("soakmon", "vegeta"):
        plans[name] = Plan(target, "/", max_vus, duration_s, workdir / name)
        if plans[name].workdir.exists():
            shutil.rmtree(plans[name].workdir)
        plans[name].workdir.mkdir(parents=True)
    mine = plans["soakmon"]
    ours = parse_soakmon(mine, _run(_soakmon_argv(mine, rate), mine))
    result = FixedRate(rate, duration_s, _summary(ours), None)
    reason = vegeta_needs()
    if reason is not None:
        result.skipped = reason
        return result
    plan = plans["vegeta"]
    theirs = parse_vegeta(plan, _run(_vegeta_argv(plan, rate), plan))
    result.vegeta = _summary(theirs)
    p50s, p99s = (ours.p50_ms, theirs.p50_ms), (ours.p99_ms, theirs.p99_ms)
    if p50s[0] is not None and p50s[1] is not None and p99s[0] is not None and p99s[1] is not None:
        result.p50_over_ms = round(p50s[0] - p50s[1], 3)
        result.p99_over_ms = round(p99s[0] - p99s[1], 3)
        result.met = result.p50_over_ms <= P50_BOUND_MS and result.p99_over_ms <= P99_BOUND_MS
    return result
