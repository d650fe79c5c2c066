"""``python -m bench``: soakmon load vs Locust FastHttpUser, vegeta and wrk; memory per idle VU.

Everything runs on loopback, bounded in time; every process started here is stopped here.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console

from bench.generators import DEFAULT_GENERATORS, GENERATORS
from bench.idle import IDLE_VARIANTS, IdleMemory, idle_memory
from bench.latency import FixedRate, fixed_rate
from bench.nginx import nginx_target
from bench.probe import has_option, load_help
from bench.procs import GENERATOR_CORE, TARGET_CORE, BenchError, machine_load, raise_nofile
from bench.profiling import Profile, profile_soakmon
from bench.report import (
    GOALS,
    latency_table,
    print_all,
    scaling_table,
    scaling_verdicts,
    write_json,
)
from bench.scaling import Scaling, run_scaling
from bench.throughput import RunResult, ratios, run_all

DEFAULT_JSON = Path("reports/bench.json")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs (4 s, 2,000 idle VUs)")
    parser.add_argument("--vus", type=int, default=64, help="VUs/connections per generator")
    parser.add_argument("--duration", type=int, help="seconds per generator (default 10, quick 4)")
    parser.add_argument("--idle-vus", type=int, help="VUs for the memory test (default 10000)")
    parser.add_argument(
        "--only",
        choices=("throughput", "scaling", "idle", "profile", "latency"),
        action="append",
        help="run only these parts (repeatable; default: all)",
    )
    parser.add_argument(
        "--generators",
        default=",".join(DEFAULT_GENERATORS),
        help=f"comma-separated subset of: {', '.join(GENERATORS)}",
    )
    parser.add_argument(
        "--rounds", type=int, help="rounds of the --processes scaling part (default 3, quick 1)"
    )
    parser.add_argument(
        "--latency-rate", type=float, default=2000.0, help="requests/s of the latency row"
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write the JSON")
    args = parser.parse_args(argv)
    args.duration = args.duration or (4 if args.quick else 10)
    args.idle_vus = args.idle_vus or (2000 if args.quick else 10000)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.parts = set(args.only or ("throughput", "scaling", "idle", "profile", "latency"))
    args.generator_names = [g.strip() for g in args.generators.split(",") if g.strip()]
    unknown = [g for g in args.generator_names if g not in GENERATORS]
    if unknown:
        parser.error(f"unknown generator(s) {', '.join(unknown)}; known: {', '.join(GENERATORS)}")
    if args.vus < 1 or args.duration < 1 or args.idle_vus < 2 or args.rounds < 1:
        parser.error("--vus, --duration and --rounds must be ≥ 1 and --idle-vus ≥ 2")
    return args


def run(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    started = datetime.now(UTC)
    if (psutil.cpu_count() or 1) <= max(GENERATOR_CORE, TARGET_CORE):
        raise BenchError("needs 2 CPUs: the generator and the target are pinned to separate cores")
    load_before = machine_load()
    # Children inherit it: 10,000 held sockets plus the pool need far more than the default.
    raise_nofile(max(65536, args.idle_vus * 3, args.vus * 4))
    results: list[RunResult] = []
    idle: list[IdleMemory] = []
    profile: Profile | None = None
    latency: FixedRate | None = None
    scaling: Scaling | None = None
    problems: list[str] = []
    if load_help() is None:
        problems.append("`soakmon load` is not available: soakmon rows are skipped")
    with tempfile.TemporaryDirectory(prefix="soakmon-bench-") as tmp:
        workdir = Path(tmp)
        if args.parts & {"throughput", "scaling", "profile", "latency"}:
            with nginx_target(workdir) as target:
                if "throughput" in args.parts:
                    console.log(f"throughput: {', '.join(args.generator_names)} → {target.url}")
                    results = run_all(
                        args.generator_names,
                        target=target.url,
                        vus=args.vus,
                        duration_s=args.duration,
                        workdir=workdir / "runs",
                    )
                if "scaling" in args.parts and load_help() is not None:
                    console.log(
                        f"scaling: --processes 2 against one process, {args.rounds} round(s)"
                    )
                    scaling = run_scaling(
                        target=target.url,
                        vus=args.vus,
                        duration_s=args.duration,
                        rounds=args.rounds,
                        workdir=workdir / "scaling",
                    )
                if "latency" in args.parts and load_help() is not None:
                    console.log(f"latency: soakmon and vegeta at {args.latency_rate:g} req/s")
                    try:
                        latency = fixed_rate(
                            target=target.url,
                            rate=args.latency_rate,
                            duration_s=max(2, args.duration // 2),
                            workdir=workdir / "latency",
                            target_pid=target.pid,
                        )
                    except BenchError as exc:
                        problems.append(f"latency: {exc}")
                if "profile" in args.parts and load_help() is not None:
                    console.log("profile: soakmon load under cProfile")
                    try:
                        profile = profile_soakmon(
                            target=target.url,
                            vus=args.vus,
                            duration_s=args.duration,
                            workdir=workdir / "profile",
                        )
                    except BenchError as exc:
                        problems.append(f"profile: {exc}")
        if "idle" in args.parts and load_help() is not None:
            for variant in IDLE_VARIANTS:
                if variant.needs_flag and not has_option(variant.needs_flag):
                    problems.append(f"idle memory ({variant.label}): no {variant.needs_flag}")
                    continue
                console.log(f"idle memory: {args.idle_vus:,} VUs held open, {variant.label}")
                try:
                    idle.append(
                        idle_memory(
                            args.idle_vus,
                            variant=variant,
                            workdir=workdir / "idle",
                            settle_timeout=120 if args.idle_vus > 2000 else 60,
                        )
                    )
                except (BenchError, OSError, psutil.Error) as exc:
                    problems.append(f"idle memory ({variant.label}): {exc}")
    ratio = ratios(results)
    doc: dict[str, Any] = {
        "schema_version": 1,
        "meta": {
            "started_at": started.isoformat(timespec="seconds"),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "quick": args.quick,
            "vus": args.vus,
            "duration_s": args.duration,
            "idle_vus": args.idle_vus,
            "generator_core": GENERATOR_CORE,
            "target_core": TARGET_CORE,
            "load_before": load_before,
            "load_after": machine_load(),
        },
        "throughput": [r.to_dict() for r in results],
        "ratios": ratio,
        "goal": {
            "judged_on": "steady-state requests per CPU-second (wait4 rusage, calibrated)",
            **{
                f"soakmon_over_{name}_per_core": {
                    "goal": goal,
                    "met": (ratio[name]["per_cpu_s"] >= goal)
                    if ratio.get(name, {}).get("per_cpu_s")
                    else None,
                }
                for name, goal in GOALS.items()
            },
        },
        "idle_memory": [m.to_dict() for m in idle],
        "profile": profile.to_dict() if profile else None,
        "fixed_rate_latency": latency.to_dict() if latency else None,
        "processes_scaling": scaling.to_dict() if scaling else None,
        "problems": problems,
    }
    print_all(console, doc, results, idle, profile)
    if scaling is not None:
        console.print(scaling_table(scaling))
        for line in scaling_verdicts(scaling):
            console.print(line)
    if latency is not None:
        console.print(latency_table(latency))
    for problem in problems:
        console.print(f"[yellow]note:[/yellow] {problem}")
    return doc


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    t0 = time.monotonic()
    try:
        doc = run(args, console)
    except BenchError as exc:
        console.print(f"[red]benchmark failed:[/red] {exc}")
        return 1
    except KeyboardInterrupt:
        console.print("[yellow]interrupted; all benchmark processes were stopped[/yellow]")
        return 130
    write_json(args.json, doc)
    console.print(f"wrote {args.json} in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
