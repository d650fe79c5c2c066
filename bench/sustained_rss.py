"""Peak RSS of ``soakmon run`` over the spec's 60 s sustained load against a fast target.

    .venv/bin/python -m bench.sustained_rss [--seconds 60] [--json reports/sustained_rss.json]

Starts ``bench/fast_target.py`` (in memory, sub-millisecond answers) as its own process, runs
``soakmon run load --scenario sustained-load --param sustained_s=SECONDS`` as another, samples
the monitor's resident memory every 100 ms (psutil) and reports: peak RSS, RSS at the end of the
load phase versus the peak during check evaluation, requests/s, and every check's status. The
goal of issue 8 is a peak under 400 MB at >= 1,000 requests/s.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from bench.procs import child_env, free_port, wait_port

GOAL_MB = 400
HERE = Path(__file__).parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sustained_rss", description=__doc__)
    parser.add_argument("--seconds", type=int, default=60, help="sustained load (default 60)")
    parser.add_argument("--vus", type=int, default=5, help="virtual users (default 5, the spec)")
    parser.add_argument("--json", type=Path, help="write the numbers here")
    args = parser.parse_args(argv)
    port = free_port()
    env = child_env()
    target = subprocess.Popen(
        [sys.executable, "-m", "bench.fast_target", "--port", str(port)],
        env=env, start_new_session=True,
    )  # fmt: skip
    try:
        wait_port(port, timeout=20, proc=target)
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "run.json"
            numbers = _measure(port, args.seconds, args.vus, report, env)
    finally:
        target.terminate()
        target.wait(timeout=10)
    print(json.dumps(numbers, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(numbers, indent=2) + "\n")
    return 0 if numbers["peak_rss_mb"] < GOAL_MB else 1


def _measure(
    port: int, seconds: int, vus: int, report: Path, env: dict[str, str]
) -> dict[str, Any]:
    cmd = [
        sys.executable, "-c", "from monitor.cli.app import main; main()",
        "run", "load", "--scenario", "sustained-load", "--target", f"http://127.0.0.1:{port}",
        "--profile", str(HERE / "fast_target.profile.yaml"), "--param", f"sustained_s={seconds}",
        "--param", f"sustained_vus={vus}", "--json", str(report), "--quiet", "--seed", "1",
    ]  # fmt: skip
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watched = psutil.Process(proc.pid)
    samples: list[tuple[float, int]] = []
    while proc.poll() is None:
        try:
            samples.append((time.monotonic() - started, watched.memory_info().rss))
        except psutil.NoSuchProcess:
            break
        time.sleep(0.1)
    _, err = proc.communicate()
    doc = json.loads(report.read_text())
    (scenario,) = doc["suites"][0]["scenarios"]
    total = scenario["requests"]["total"]
    load_end = next((rss for t, rss in reversed(samples) if t <= seconds + 2), 0)
    mb = 1024 * 1024
    return {
        "exit_code": proc.returncode,
        "seconds": seconds,
        "requests": total,
        "requests_per_s": round(total / seconds, 1),
        "peak_rss_mb": round(max(rss for _, rss in samples) / mb, 1),
        "rss_near_load_end_mb": round(load_end / mb, 1),
        "wall_s": round(time.monotonic() - started, 1),
        "checks": {c["name"]: c.get("status") for c in scenario["checks"]},
        "stderr_tail": err.decode(errors="replace").splitlines()[-3:],
    }


if __name__ == "__main__":
    raise SystemExit(main())
