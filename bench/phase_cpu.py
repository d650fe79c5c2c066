"""CPU per operation of a suite's sustained-load phase: aiohttp vs the fast path.

``python -m bench.phase_cpu [--duration 15] [--vus 8] [--rounds 2]`` starts the reference target
as a process (temporary SQLite) and runs, ``--rounds`` times each and interleaved, a one-phase
suite in this process: ``--vus`` registered users loop ``points.balance`` for ``--duration``
seconds, with ``load: {fast_path: false}`` and with the fast path. It prints operations, the
run's CPU seconds (this process: setup, the phase, interpreting every answer and the checks)
and operations per CPU-second, with the load average beside them. The reference target is the
bottleneck of the rate; what differs is soakmon's CPU per operation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from monitor.suites.loading.loader import load_profile, load_suite
from monitor.suites.loading.paths import builtin_profiles
from monitor.suites.run.runner import RunOptions, run_suites
from tests.plugins.target_process import TargetProcess


def suite_file(work: Path, *, fast: bool, vus: int, duration: float) -> Path:
    doc: dict[str, Any] = {
        "name": "sustained",
        "scenarios": [{
            "name": "loop",
            "setup": [{"op": "register", "count": vus, "save": "vus"}],
            "phases": [{"load": {"vus": vus, "duration_s": duration, "window_s": 1,
                                 "fast_path": fast},
                        "ops": [{"op": "points.balance", "user": "vus"}]}],
            "checks": [{"name": "ran", "cel": "true"}],
        }],
    }  # fmt: skip
    path = work / f"sustained-{fast}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


async def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix="soakmon-phase-cpu-"))
    target = TargetProcess(work, "phase-cpu")
    url = await target.start()
    profile = load_profile(builtin_profiles()["reference"]).profile
    rows = []
    try:
        for _ in range(args.rounds):
            for fast in (False, True):
                path = suite_file(work, fast=fast, vus=args.vus, duration=args.duration)
                c0 = time.process_time()
                run = await run_suites(url, profile, [load_suite(path)], RunOptions(seed=1))
                cpu = time.process_time() - c0
                throughput = run.scenarios[0].state["throughput"]
                ops = int(throughput["total"])
                row = {"transport": throughput["transport"], "operations": ops,
                       "cpu_s": round(cpu, 2), "ops_per_cpu_s": round(ops / cpu),
                       "load_avg_1m": round(os.getloadavg()[0], 2)}  # fmt: skip
                print(json.dumps(row), flush=True)
                rows.append(row)
    finally:
        target.kill()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.phase_cpu", description=__doc__)
    parser.add_argument("--duration", type=float, default=15.0, help="phase length, seconds")
    parser.add_argument("--vus", type=int, default=8, help="users looping in the phase")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of each")
    parser.add_argument("--json", type=Path, default=Path("reports/phase-cpu.json"))
    args = parser.parse_args(argv)
    rows = asyncio.run(measure(args))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
