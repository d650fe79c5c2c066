"""Latency overhead at a fixed rate (issue 23): soakmon's p50/p99 beside vegeta's, same target.

Well below saturation (2,000 req/s against the private nginx by default) the target answers in
tens of microseconds, so what each tool reports is mostly its own overhead: the time from the
intended start of a request (open model, both tools) to its parsed answer. The goal: soakmon's
p50 within 0.5 ms and its p99 within 1 ms of vegeta's.

Both tools run under the same conditions, so that the machine's other work cannot favour one:
- in alternating windows (soakmon, vegeta, soakmon, ...), each tool's figure the median of its
  windows' percentiles, so a window in which the shared core was taken away weighs as little
  for one tool as for the other;
- pinned to the generator core and, when the benchmark may (root), at the same real-time
  priority (``chrt -f 1``), with the nginx worker at that priority for the row too (restored
  after): on a machine shared with other builds both tools' p99 were otherwise the scheduler's
  delays of the generator and of nginx (7-170 ms at load 15-19), not the tools' overhead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from bench.generators import parse_soakmon
from bench.plan import VENV_BIN, Plan, Throughput
from bench.procs import GENERATOR_CORE, BenchError, pinned, require_program, run_measured
from bench.rivals import VEGETA, parse_vegeta, vegeta_needs

P50_BOUND_MS = 0.5
P99_BOUND_MS = 1.0


@dataclass(slots=True)
class FixedRate:
    """Both tools' view of the same fixed-rate load (per tool: medians over its windows)."""

    rate: float
    duration_s: int  # per window
    soakmon: dict[str, Any]
    vegeta: dict[str, Any] | None
    p50_over_ms: float | None = None  # soakmon's p50 minus vegeta's
    p99_over_ms: float | None = None
    met: bool | None = None
    skipped: str | None = None
    windows: int = 1
    conditions: str = ""
    window_runs: list[dict[str, Any]] | None = None  # every window, in the order run

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


def _run(argv: list[str], plan: Plan, prio: list[str]) -> Any:
    limit = plan.duration_s * 3 + 60
    run = run_measured([*prio, *pinned(GENERATOR_CORE, argv)], timeout=limit, cwd=plan.workdir)
    if run.timed_out:
        raise BenchError(f"did not finish within {limit} s")
    return run


def _median_summary(runs: list[Throughput]) -> dict[str, Any]:
    def med(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return round(statistics.median(known), 3) if known else None

    return {
        "requests": sum(t.requests for t in runs),
        "errors": sum(t.errors for t in runs),
        "rps": med([t.rps for t in runs]),
        "p50_ms": med([t.p50_ms for t in runs]),
        "p99_ms": med([t.p99_ms for t in runs]),
    }


@contextlib.contextmanager
def realtime(target_pid: int | None) -> Iterator[list[str]]:
    """The prefix that runs a generator at real-time priority 1 (empty when not allowed), with
    the target's worker processes at that priority until the block ends."""
    chrt = None
    with contextlib.suppress(BenchError):
        chrt = require_program("chrt")
    if chrt is None or os.geteuid() != 0:
        yield []
        return
    workers: list[int] = []
    if target_pid is not None:
        with contextlib.suppress(psutil.Error):
            workers = [c.pid for c in psutil.Process(target_pid).children(recursive=True)]
    raised = []
    try:
        for pid in workers:
            with contextlib.suppress(OSError):
                os.sched_setscheduler(pid, os.SCHED_FIFO, os.sched_param(1))
                raised.append(pid)
        yield [chrt, "-f", "1"]
    finally:
        for pid in raised:
            with contextlib.suppress(OSError):
                os.sched_setscheduler(pid, os.SCHED_OTHER, os.sched_param(0))


def fixed_rate(
    *,
    target: str,
    rate: float,
    duration_s: int,
    workdir: Path,
    max_vus: int = 64,
    windows: int = 3,
    target_pid: int | None = None,
) -> FixedRate:
    """``windows`` alternating runs of soakmon and vegeta at ``rate``, ``duration_s`` each;
    each tool's p50/p99 is the median over its windows."""
    reason = vegeta_needs()
    names = ("soakmon",) if reason is not None else ("soakmon", "vegeta")
    got: dict[str, list[Throughput]] = {name: [] for name in names}
    runs: list[dict[str, Any]] = []
    with realtime(target_pid) as prio:
        for window in range(windows):
            for name in names:
                plan = Plan(target, "/", max_vus, duration_s, workdir / f"{name}-{window}")
                if plan.workdir.exists():
                    shutil.rmtree(plan.workdir)
                plan.workdir.mkdir(parents=True)
                if name == "soakmon":
                    t = parse_soakmon(plan, _run(_soakmon_argv(plan, rate), plan, prio))
                else:
                    t = parse_vegeta(plan, _run(_vegeta_argv(plan, rate), plan, prio))
                got[name].append(t)
                runs.append({"tool": name, "window": window, **_summary(t)})
    conditions = f"{windows} alternating windows each, pinned to CPU {GENERATOR_CORE}" + (
        ", generators and nginx at real-time priority 1" if prio else ", normal priority"
    )
    result = FixedRate(
        rate, duration_s, _median_summary(got["soakmon"]), None, windows=windows,
        conditions=conditions, window_runs=runs,
    )  # fmt: skip
    if reason is not None:
        result.skipped = reason
        return result
    result.vegeta = theirs = _median_summary(got["vegeta"])
    ours = result.soakmon
    if None not in (ours["p50_ms"], ours["p99_ms"], theirs["p50_ms"], theirs["p99_ms"]):
        result.p50_over_ms = round(ours["p50_ms"] - theirs["p50_ms"], 3)
        result.p99_over_ms = round(ours["p99_ms"] - theirs["p99_ms"], 3)
        result.met = result.p50_over_ms <= P50_BOUND_MS and result.p99_over_ms <= P99_BOUND_MS
    return result
