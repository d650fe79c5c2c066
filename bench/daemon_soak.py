"""Daemon memory over a long high-rate soak: is ``soakmon daemon``'s RSS flat?

``python -m bench.daemon_soak [--duration 30m] [--rate 300] [--vus 5]`` starts the reference
target (``soakmon target serve``, temporary SQLite) and ``soakmon daemon`` as separate
processes. The daemon runs an open-model soak of plain requests at ``--rate`` per second, a
soak of profile operations by ``--vus`` users, a burst every minute, the points suite every
2 minutes and probes every 2 s. The benchmark samples the daemon's RSS every 5 s and reports
the Theil–Sen slope (MiB/h) over the run after a warm-up, with its 95 % interval, plus the
request totals. Loopback only; both processes are stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil
import yaml

from monitor.analysis.trend import robust_slope
from monitor.engine.durations import parse_duration

CLI = [sys.executable, "-c", "from monitor.cli.app import main; main()"]
MIB = 1024.0 * 1024.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_listening(out: Path, proc: subprocess.Popen[bytes], within: float = 60) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for line in out.read_text(errors="replace").splitlines():
            if line.startswith("listening on http://"):
                return line.removeprefix("listening on ").strip()
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise SystemExit(f"the reference target did not start: {out.read_text()}")


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the daemon exited during start-up")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("the daemon did not become ready")


def config(target: str, port: int, rate: float, vus: int) -> dict[str, Any]:
    return {
        "targets": {"ref": {"url": target}},
        "suites": [{"suite": "points", "target": "ref", "schedule": {"every": "2m"}}],
        "soak": [
            {"name": "rate", "target": "ref", "rate": rate, "max_vus": 100, "window": "5s",
             "requests": [{"path": "/healthz"}, {"path": "/readyz"}]},
            {"name": "users", "target": "ref", "vus": vus, "window": "5s",
             "operations": [{"op": "points.balance"}, {"op": "points.add", "args": {"amount": 1}},
                            {"op": "rewards.list"}]},
        ],
        "bursts": [{"name": "spike", "target": "ref", "size": 20, "schedule": {"every": "1m"},
                    "request": {"path": "/healthz"}}],
        "probes": [{"name": "self", "kind": "self", "every": "2s"},
                   {"name": "ref", "kind": "scrape", "target": "ref", "url": f"{target}/metrics",
                    "every": "2s"}],
        "server": {"host": "127.0.0.1", "port": port},
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.daemon_soak", description=__doc__)
    parser.add_argument("--duration", default="30m", help="soak length (default 30m)")
    parser.add_argument("--warmup", default="2m", help="samples before this are ignored")
    parser.add_argument("--rate", type=float, default=300.0, help="plain requests per second")
    parser.add_argument("--vus", type=int, default=5, help="users of the operations soak")
    parser.add_argument("--json", type=Path, default=Path("reports/daemon-soak.json"))
    args = parser.parse_args(argv)
    duration, warmup = parse_duration(args.duration), parse_duration(args.warmup)

    work = Path(tempfile.mkdtemp(prefix="soakmon-daemon-soak-"))
    target_out = work / "target.out"
    with target_out.open("wb") as out:
        target = subprocess.Popen(
            [*CLI, "target", "serve", "--port", "0"], stdout=out, stderr=subprocess.STDOUT
        )
    daemon: subprocess.Popen[bytes] | None = None
    try:
        target_url = _wait_listening(target_out, target)
        port = _free_port()
        cfg_path = work / "daemon.yaml"
        cfg_path.write_text(yaml.safe_dump(config(target_url, port, args.rate, args.vus)))
        with (work / "daemon.log").open("wb") as log:
            daemon = subprocess.Popen(
                [*CLI, "daemon", "--config", str(cfg_path), "--log-level", "warning"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        daemon_url = f"http://127.0.0.1:{port}"
        _wait_ready(daemon_url, daemon)
        proc = psutil.Process(daemon.pid)
        t0 = time.monotonic()
        times: list[float] = []
        rss: list[float] = []
        while (elapsed := time.monotonic() - t0) < duration:
            if daemon.poll() is not None:
                raise SystemExit(f"the daemon died: see {work / 'daemon.log'}")
            times.append(elapsed)
            rss.append(float(proc.memory_info().rss))
            time.sleep(5)
        status = _get_json(f"{daemon_url}/api/status")
    finally:
        for p in (daemon, target):
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
    kept = [(t, r) for t, r in zip(times, rss, strict=True) if t >= warmup]
    slope = robust_slope([t for t, _ in kept], [r for _, r in kept])
    soaks = status["soak"]
    result = {
        "duration_s": duration,
        "warmup_s": warmup,
        "samples": len(kept),
        "rss_start_mib": round(kept[0][1] / MIB, 1),
        "rss_end_mib": round(kept[-1][1] / MIB, 1),
        "rss_max_mib": round(max(r for _, r in kept) / MIB, 1),
        "slope_mib_per_hour": round(slope.per_hour / MIB, 2),
        "slope_95ci_mib_per_hour": [
            round(slope.low * 3600 / MIB, 2),
            round(slope.high * 3600 / MIB, 2),
        ],
        "requests": {name: s.get("requests_total") for name, s in soaks.items()},
        "errors": {name: s.get("errors_total") for name, s in soaks.items()},
        "suite_runs": {s["name"]: s["runs_total"] for s in status["suites"]},
        "daemon_exit_code": daemon.returncode if daemon is not None else None,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
