"""Runs each load generator pinned to one core against the same target and measures it.

Each generator runs twice: a 1-second calibration run, then the measured run. The difference
of the two (requests and exact CPU time from ``wait4``) is the steady-state cost per request,
free of start-up and shutdown (imports, spawning, reports), which differ a lot between tools.
"""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.generators import GENERATORS
from bench.plan import Generator, Plan, Throughput
from bench.procs import GENERATOR_CORE, BenchError, Measured, pinned, run_measured

CALIBRATION_S = 1
MIN_CORE_SHARE = 0.15
"""Below this share of its core mid-run, a 10 s run's extra CPU over the calibration run is
about as small as the noise of the start-up cost subtracted from it: the steady-state figure
is noise (seen: 263k req/CPU-s for a generator that got 6 % of its core), so it is not judged."""


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
    rps_per_busy_core: float | None = None  # rps / steady_cpu_util: as if it had the whole core
    rps_per_cpu_s: float | None = None  # steady state: extra requests / extra CPU vs calibration
    fixed_cpu_s: float | None = None  # start-up + shutdown CPU (not spent on requests)
    p50_ms: float | None = None
    p99_ms: float | None = None
    max_rss_kib: int = 0
    skipped: str | None = None  # why the generator did not run
    failed: str | None = None  # why its run gave no numbers
    starved: str | None = None  # why its steady-state figure is not judged

    @property
    def ok(self) -> bool:
        return self.skipped is None and self.failed is None and self.requests > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            k: round(v, 3) if isinstance(v, float) else v
            for k, v in dataclasses.asdict(self).items()
        }


def steady_rate(
    short: tuple[int, float], long: tuple[int, float]
) -> tuple[float | None, float | None]:
    """(requests per CPU-second, fixed CPU seconds) from a short and a long run's
    (requests, CPU seconds): the marginal cost per request and what is left over."""
    extra_req, extra_cpu = long[0] - short[0], long[1] - short[1]
    if extra_req <= 0 or extra_cpu <= 0:
        return None, None
    per_cpu = extra_req / extra_cpu
    return per_cpu, max(0.0, long[1] - long[0] / per_cpu)


def starved(label: str, core_share: float | None) -> str | None:
    """Why a run's steady-state figure is not judged (too little of its core), or None."""
    if core_share is None or core_share >= MIN_CORE_SHARE:
        return None
    return (
        f"{label} got {core_share:.0%} of its core mid-run (other work took it; under "
        f"{MIN_CORE_SHARE:.0%} the steady-state figure is noise)"
    )


def _measure(gen: Generator, plan: Plan) -> tuple[Measured, Throughput]:
    if plan.workdir.exists():
        shutil.rmtree(plan.workdir)
    plan.workdir.mkdir(parents=True)
    limit = plan.duration_s * 3 + 60
    cores = gen.worker_cores
    argv = pinned(",".join(map(str, cores)) if cores else GENERATOR_CORE, gen.command(plan))
    run = run_measured(argv, timeout=limit, cwd=plan.workdir, children_cores=cores)
    if run.timed_out:
        raise BenchError(f"did not finish within {limit} s")
    return run, gen.parse(plan, run)


def run_one(gen: Generator, plan: Plan) -> RunResult:
    """Run ``gen`` for ``plan`` pinned to the generator core; never raises for its failures."""
    result = RunResult(gen.name, gen.label)
    reason = gen.needs()
    if reason is not None:
        result.skipped = reason
        return result
    short_plan = dataclasses.replace(
        plan, duration_s=CALIBRATION_S, workdir=plan.workdir / "calibration"
    )
    try:
        short_run, short = _measure(gen, short_plan)
        run, got = _measure(gen, dataclasses.replace(plan, workdir=plan.workdir / "run"))
    except BenchError as exc:
        result.failed = str(exc)
        return result
    result.requests, result.errors, result.rps = got.requests, got.errors, got.rps
    result.p50_ms, result.p99_ms = got.p50_ms, got.p99_ms
    result.wall_s, result.cpu_s = run.wall_s, run.cpu_s
    result.steady_cpu_util, result.max_rss_kib = run.steady_cpu_util, run.max_rss_kib
    if run.steady_cpu_util:
        result.rps_per_busy_core = got.rps / min(1.0, run.steady_cpu_util)
    result.rps_per_cpu_s, result.fixed_cpu_s = steady_rate(
        (short.requests, short_run.cpu_s), (got.requests, run.cpu_s)
    )
    result.starved = starved(result.label, run.steady_cpu_util)
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
    req/s per busy core (steady state) and by steady-state requests per CPU-second."""
    by_name = {r.name: r for r in results if r.ok}
    ours = by_name.get(base)
    if ours is None:
        return {}
    return {
        name: {
            "rps": _ratio(ours.rps, other.rps),
            "per_busy_core": _ratio(ours.rps_per_busy_core, other.rps_per_busy_core),
            # 0.0: not judged (either side starved of its core)
            "per_cpu_s": 0.0
            if ours.starved or other.starved
            else _ratio(ours.rps_per_cpu_s, other.rps_per_cpu_s),
        }
        for name, other in by_name.items()
        if name != base
    }


def _ratio(ours: float | None, other: float | None) -> float:
    return round(ours / other, 3) if ours and other else 0.0
