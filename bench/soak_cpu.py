"""CPU cost of the daemon's plain soak: aiohttp vs the fast path, and in worker processes.

``python -m bench.soak_cpu [--duration 20s] [--warmup 5s] [--vus 16]`` starts the private nginx
(bench.nginx, one pinned worker) and, for each variant, ``soakmon daemon`` with one closed-model
soak of plain requests (``GET /``) and nothing else (no probes, suites or bursts): ``aiohttp``
(``fast_path: false``), ``fast path``, and ``fast path, processes: 2``. After the warm-up it
counts the soak's requests (``/api/status``) and the CPU seconds of the daemon and its worker
processes (user + system, psutil) over the measured span, and prints requests per CPU-second
and per second, the resident memory of the daemon and of each worker (MiB), with the machine's
load average beside them (numbers on a shared machine are
only comparable within one run). The daemon does what it does in production per request:
a client span (no OTLP endpoint set: created, not exported) and the request metrics.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import yaml

from bench.nginx import nginx_target
from bench.procs import free_port
from monitor.engine.durations import parse_duration
from tests.plugins.listening import stop, wait_ready

CLI = [sys.executable, "-c", "from monitor.cli.app import main; main()"]
VARIANTS: dict[str, dict[str, Any]] = {
    "aiohttp": {"fast_path": False},
    "fast path": {"fast_path": True},
    "fast path, processes 2": {"fast_path": True, "processes": 2},
}


def _status(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/api/status", timeout=30) as resp:
        doc: dict[str, Any] = json.load(resp)
        return doc


def _cpu_s(proc: psutil.Process) -> float:
    """CPU seconds of ``proc`` and its live children (the soak workers)."""
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


def _requests(url: str) -> int:
    return int(_status(url)["soak"]["plain"].get("requests_total", 0))


def _started(url: str) -> bool:
    """Whether the daemon's soak published its first window."""
    try:
        return _requests(url) > 0
    except OSError:
        return False


def run_variant(
    work: Path, target: str, name: str, extra: dict[str, Any], *, vus: int, warmup: float,
    duration: float,
) -> dict[str, Any]:  # fmt: skip
    port = free_port()
    soak = {"name": "plain", "target": "t", "vus": vus, "window": "1s",
            "requests": [{"path": "/"}], **extra}  # fmt: skip
    cfg = {"targets": {"t": {"url": target}}, "soak": [soak], "probes": [],
           "server": {"host": "127.0.0.1", "port": port}}  # fmt: skip
    path = work / f"daemon-{len(list(work.iterdir()))}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    url = f"http://127.0.0.1:{port}"
    with (work / "daemon.log").open("ab") as log:
        daemon = subprocess.Popen(
            [*CLI, "daemon", "--config", str(path), "--log-level", "warning"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        proc = psutil.Process(daemon.pid)
        # first window in: the workers (if any) are running
        came = wait_ready(lambda: _started(url), daemon, within=120, every=0.5)
        if came == "exited":
            raise SystemExit(f"the daemon exited: see {work / 'daemon.log'}")
        if came == "timeout":
            raise SystemExit("the soak did not start")
        time.sleep(warmup)
        r0, c0, t0 = _requests(url), _cpu_s(proc), time.monotonic()
        time.sleep(duration)
        r1, c1, t1 = _requests(url), _cpu_s(proc), time.monotonic()
        transport = _status(url)["soak"]["plain"].get("transport")
        rss = [round(p.memory_info().rss / 2**20) for p in [proc, *proc.children()]]
    finally:
        stop(daemon, grace=30)
    requests, cpu = r1 - r0, c1 - c0
    return {
        "variant": name,
        "transport": transport,
        "requests": requests,
        "cpu_s": round(cpu, 2),
        "req_per_cpu_s": round(requests / cpu) if cpu > 0 else None,
        "req_per_s": round(requests / (t1 - t0)),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "rss_mib": rss,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak_cpu", description=__doc__)
    parser.add_argument("--duration", default="20s", help="measured span per variant")
    parser.add_argument("--warmup", default="5s", help="after the first window, before measuring")
    parser.add_argument("--vus", type=int, default=16, help="the soak's VUs (closed model)")
    parser.add_argument("--only", action="append", choices=sorted(VARIANTS), help="variants")
    parser.add_argument("--json", type=Path, default=Path("reports/soak-cpu.json"))
    args = parser.parse_args(argv)
    duration, warmup = parse_duration(args.duration), parse_duration(args.warmup)
    work = Path(tempfile.mkdtemp(prefix="soakmon-soak-cpu-"))
    rows = []
    with nginx_target(work) as target:
        for name, extra in VARIANTS.items():
            if args.only and name not in args.only:
                continue
            row = run_variant(
                work, target.url, name, extra, vus=args.vus, warmup=warmup, duration=duration
            )
            print(json.dumps(row), flush=True)
            rows.append(row)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
