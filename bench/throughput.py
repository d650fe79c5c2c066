"""Runs each load generator pinned to one core against the same target and measures it."""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.generators import GENERATORS, Generator, Plan
from bench.procs import GENERATOR_CORE, BenchError, pinned, run_measured


@dataclass(slots=True)
class RunResult:
    """One generator's run: its own numbers plus the CPU it really used."""

    name: str
    label: str
    requests: int = 0
    errors: int = 0
    rps: float = 0.0  # requests/s as the generator reported it (pinned: one core)
    wall_s: float = 0.0  # whole process life, start-up included
    cpu_s: float = 0.0  # user + system CPU of the process (wait4 rusage), start-up included
    steady_cpu_util: float | None = None  # share of its core used mid-run
    rps_per_cpu_s: float = 0.0  # requests / cpu_s: throughput per CPU-second actually burnt
    rps_per_busy_core: float | None = None  # rps / steady_cpu_util: as if it had the whole core
    p50_ms: float | None = None
    p99_ms: float | None = None
    max_rss_kib: int = 0
    skipped: str | None = None  # why the generator did not run
    failed: str | None = None  # why its run gave no numbers

    @property
    def ok(self) -> bool:
        return self.skipped is None and self.failed is None and self.requests > 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in (
            "rps",
            "wall_s",
            "cpu_s",
            "rps_per_cpu_s",
            "rps_per_busy_core",
            "p50_ms",
            "p99_ms",
        ):
            if isinstance(data[key], float):
                data[key] = round(data[key], 3)
        if data["steady_cpu_util"] is not None:
            data["steady_cpu_util"] = round(data["steady_cpu_util"], 3)
        return data


def run_one(gen: Generator, plan: Plan) -> RunResult:
    """Run ``gen`` for ``plan`` pinned to the generator core; never raises for its failures."""
    result = RunResult(gen.name, gen.label)
    reason = gen.needs()
    if reason is not None:
        result.skipped = reason
        return result
    if plan.workdir.exists():
        shutil.rmtree(plan.workdir)
    plan.workdir.mkdir(parents=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    try:
        argv = pinned(GENERATOR_CORE, gen.command(plan))
        run = run_measured(
            argv,
            timeout=plan.duration_s * 3 + 60,
            cwd=plan.workdir,
            env=env,
        )
        if run.timed_out:
            raise BenchError(f"did not finish within {plan.duration_s * 3 + 60} s")
        got = gen.parse(plan, run)
    except BenchError as exc:
        result.failed = str(exc)
        return result
    result.requests, result.errors, result.rps = got.requests, got.errors, got.rps
    result.p50_ms, result.p99_ms = got.p50_ms, got.p99_ms
    result.wall_s, result.cpu_s = run.wall_s, run.cpu_s
    result.steady_cpu_util, result.max_rss_kib = run.steady_cpu_util, run.max_rss_kib
    result.rps_per_cpu_s = got.requests / run.cpu_s if run.cpu_s > 0 else 0.0
    if run.steady_cpu_util:
        result.rps_per_busy_core = got.rps / min(1.0, run.steady_cpu_util)
    return result


def run_all(
    names: list[str], *, target: str, vus: int, duration_s: int, workdir: Path
) -> list[RunResult]:
    results = []
    for name in names:
        plan = Plan(target=target, path="/", vus=vus, duration_s=duration_s, workdir=workdir / name)
        results.append(run_one(GENERATORS[name], plan))
    return results


def ratios(results: list[RunResult], base: str = "soakmon") -> dict[str, dict[str, float]]:
    """``base`` over each other generator: by reported req/s (both pinned to one core), by
    req/s per busy core (steady state) and by requests per CPU-second (start-up included)."""
    by_name = {r.name: r for r in results if r.ok}
    ours = by_name.get(base)
    if ours is None:
        return {}
    out = {}
    for name, other in by_name.items():
        if name == base:
            continue
        out[name] = {
            "rps": _ratio(ours.rps, other.rps),
            "per_busy_core": _ratio(ours.rps_per_busy_core, other.rps_per_busy_core),
            "per_cpu_s": _ratio(ours.rps_per_cpu_s, other.rps_per_cpu_s),
        }
    return out


def _ratio(ours: float | None, other: float | None) -> float:
    return round(ours / other, 3) if ours and other else 0.0
