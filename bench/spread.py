"""``python -m bench.spread`` (``make spread``): how tightly soakmon's concurrent requests
leave the client and arrive at the target, today's aiohttp path against synchronised delivery.

A loopback reference target (its own process) and, when nginx is installed, nginx as its
HTTP/2 front (h2c) and its TLS front (a self-signed certificate; last-byte over HTTP/1.1).
First the floor: the same phases sent by a bare loop of ``write(2)`` in C (when a C compiler
is installed) and in Python (``bench/spread_floor.py``). Then for each way of sending,
``--phases`` batches of ``--requests`` requests (``POST /points/add``, one registered user per
request, keep-alive per user: the profile phases' setting) and the spread of each batch:

- send spread: first to last final byte handed to the kernel (aiohttp, ``--sync none``: first
  to last request whose last bytes aiohttp wrote, from its tracing signals, which run just
  before each write: ``monitor/engine/sync/written.py``);
- arrival spread: first to last ``X-Arrival-Ns`` the reference target stamped.

``soakmon load --sync`` is measured as a user runs it (a subprocess, ``--json``), and today's
load figure is one aiohttp batch through the shared pool (what a daemon burst sends).
The machine's load average is printed beside the numbers: on a shared 2-core machine they move.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.procs import free_port, service
from bench.spread_floor import c_floor, python_floor, wire_requests
from monitor.engine import ConcurrentTester, RequestSpec
from monitor.engine.sync.delivery import spread_summary
from tests.plugins.nginx_h2 import nginx_binary, nginx_h2_front
from tests.plugins.tls import make_cert

DEFAULT_JSON = Path("reports/spread.json")
SOAKMON = [sys.executable, "-c", "from monitor.cli.app import main; main()"]


def _us(summary: dict[str, Any] | None) -> str:
    if summary is None:
        return "-"
    return f"{summary['median'] * 1e6:8.0f} {summary['p90'] * 1e6:8.0f} {summary['max'] * 1e6:8.0f}"


async def _users(url: str, n: int, tag: str) -> list[RequestSpec]:
    specs = []
    async with ConcurrentTester(url, mode="per-user", keep_body=True) as tester:
        for i in range(n):
            spec = RequestSpec("POST", "/auth/register", json={"username": f"{tag}-{i}"})
            token = (await tester.send(spec)).json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            specs.append(RequestSpec("POST", "/points/add", json={"amount": 1}, headers=auth))
    return specs


async def _phases(
    url: str, specs: list[RequestSpec], phases: int, sync: str, mode: str, **options: Any
) -> dict[str, Any]:
    send: list[float | None] = []
    arrival: list[float | None] = []
    statuses: dict[int, int] = {}
    notes: set[str] = set()
    realtime = False
    async with ConcurrentTester(url, mode=mode, keep_body=True, sync=sync, **options) as t:
        await t.run_batch(specs)  # warm-up: connections open as in a running suite
        for _ in range(phases):
            result = await t.run_batch(specs)
            delivery = result.delivery
            assert delivery is not None
            for code, count in result.status_codes.items():
                statuses[code] = statuses.get(code, 0) + count
            if delivery.note:
                notes.add(delivery.note)
            realtime = realtime or delivery.realtime
            send.append(delivery.send_spread_s)
            arrival.append(delivery.arrival_spread_s)
            used = delivery.sync
    return {
        "sync": used,
        "mode": mode,
        "phases": phases,
        "requests": len(specs),
        "status_codes": {str(k): v for k, v in sorted(statuses.items())},
        "send_spread_s": spread_summary(send),
        "arrival_spread_s": spread_summary(arrival),
        "realtime": realtime,
        "notes": sorted(notes),
    }


def _soakmon_load(url: str, spec: RequestSpec, vus: int, rounds: int, mode: str) -> dict[str, Any]:
    """``soakmon load --sync last-byte``: ``rounds`` rounds of ``vus`` requests."""
    sync = "last-byte"
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "load.json"
        headers = [a for k, v in (spec.headers or {}).items() for a in ("-H", f"{k}: {v}")]
        argv = [
            *SOAKMON, "load", "--target", url,
            "--method", spec.method, "--path", spec.path, "--body", json.dumps(spec.json),
            *headers, "--vus", str(vus), "--duration", "120s", "--rounds", str(rounds),
            "--sync", sync, "--mode", mode,
            "--json", str(report), "--quiet",
        ]  # fmt: skip
        subprocess.run(argv, check=True, timeout=120)
        doc = json.loads(report.read_text())
    delivery = doc["delivery"]
    return {
        "sync": delivery["sync"],
        "mode": mode,
        "phases": delivery["rounds"],
        "requests": delivery["requests_per_round"],
        "status_codes": doc["requests"]["status_codes"],
        "send_spread_s": delivery["send_spread_s"],
        "arrival_spread_s": delivery["arrival_spread_s"],
        "notes": delivery["notes"],
    }


BUSY_LIMIT_S = 900
"""The busy loop of ``--busy`` ends by itself after this long, whatever happens to the bench."""


@contextmanager
def busy_core(enabled: bool) -> Iterator[None]:
    """With ``enabled``: one process spinning on CPU 0 for the block (the loaded case), bounded
    by ``timeout`` and stopped at the end."""
    if not enabled:
        yield
        return
    spin = (
        "import os\n"
        "if hasattr(os, 'sched_setaffinity'): os.sched_setaffinity(0, {0})\n"
        "while 1: pass"
    )
    proc = subprocess.Popen(["timeout", str(BUSY_LIMIT_S), sys.executable, "-c", spin])
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(10)


def run(args: argparse.Namespace) -> dict[str, Any]:
    rows: dict[str, dict[str, Any]] = {}
    load_before = os.getloadavg()
    with (
        busy_core(args.busy),
        tempfile.TemporaryDirectory(prefix="soakmon-spread-") as tmp,
    ):
        port = free_port()
        argv = [*SOAKMON, "target", "serve", "--port", str(port)]
        with service(argv, port=port, log=Path(tmp) / "target.log"):
            url = f"http://127.0.0.1:{port}"
            specs = asyncio.run(_users(url, args.requests, f"spread{port}"))
            wire = wire_requests("127.0.0.1", port, specs)
            measure: list[tuple[str, Callable[[], dict[str, Any] | None]]] = [
                ("floor: C loop of write(2) (no soakmon)",
                 lambda: _floor_row(c_floor(port, wire, args.phases), len(specs))),
                ("floor: Python loop of os.write (no soakmon)",
                 lambda: _floor_row(python_floor(port, wire, args.phases), len(specs))),
                ("profile phase, today (aiohttp, sync none)",
                 lambda: asyncio.run(_phases(url, specs, args.phases, "none", "per-user"))),
                ("profile phase, last-byte",
                 lambda: asyncio.run(_phases(url, specs, args.phases, "last-byte", "per-user"))),
                ("load batch, today (aiohttp shared pool)",
                 lambda: asyncio.run(_phases(url, specs, args.phases, "none", "shared"))),
                ("soakmon load --sync last-byte (per-user)",
                 lambda: _soakmon_load(url, specs[0], args.requests, args.phases, "per-user")),
                ("soakmon load --sync last-byte (shared)",
                 lambda: _soakmon_load(url, specs[0], args.requests, args.phases, "shared")),
            ]  # fmt: skip
            for name, step in measure:
                row = step()
                if row is None:
                    print(f"{name}: skipped (no C compiler)")
                    continue
                rows[name] = row
                _print_row(name, row)
            if nginx_binary() is None:
                print("single-packet, TLS: nginx is not installed (scripts/system-deps.sh bench)")
            else:
                with nginx_h2_front(url, Path(tmp)) as front:
                    name = "profile phase, single-packet (h2c via nginx)"
                    rows[name] = asyncio.run(
                        _phases(front, specs, args.phases, "single-packet", "per-user", h2c=True)
                    )
                    _print_row(name, rows[name])
                if shutil.which("openssl") is None:
                    print("last-byte over TLS: openssl is not installed")
                else:
                    cert = make_cert(Path(tmp))
                    with nginx_h2_front(url, Path(tmp), cert) as front:
                        name = "profile phase, last-byte over TLS (nginx, HTTP/1.1)"
                        rows[name] = asyncio.run(
                            _phases(front, specs, args.phases, "last-byte", "per-user",
                                    ca_file=cert.cert_file)
                        )  # fmt: skip
                        _print_row(name, rows[name])
    return {
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "busy_core": args.busy,
        "rows": rows,
    }


def _floor_row(spreads: list[float] | None, requests: int) -> dict[str, Any] | None:
    if spreads is None:
        return None
    return {
        "sync": "last-byte",
        "mode": "per-user",
        "phases": len(spreads),
        "requests": requests,
        "status_codes": {},
        "send_spread_s": spread_summary(spreads),
        "arrival_spread_s": None,
        "notes": [],
    }


def _print_row(name: str, row: dict[str, Any]) -> None:
    print(
        f"{name:48s} {row['sync']:>13s} n={row['phases']:<4d} "
        f"send µs (median p90 max) {_us(row['send_spread_s'])}   "
        f"arrival µs {_us(row['arrival_spread_s'])}   {row['status_codes']}"
        + ("  realtime" if row.get("realtime") else ""),
        flush=True,
    )


BAR_S = 100e-6
"""Issue 17's bar: median send spread of 20 requests, last-byte, per-user keep-alive."""
FLOOR = "floor: C loop of write(2) (no soakmon)"


def verdict(rows: dict[str, dict[str, Any]]) -> list[str]:
    """Each last-byte row's median against the bar, beside the C floor of the same run (taken
    at another moment: the load moves between rows)."""
    floor = (rows.get(FLOOR) or {}).get("send_spread_s")
    lines = []
    for name, row in rows.items():
        summary = row.get("send_spread_s")
        if name.startswith("floor") or row["sync"] != "last-byte" or summary is None:
            continue
        median = summary["median"]
        met = "met" if median <= BAR_S else "missed"
        over = f"; the C loop: {floor['median'] * 1e6:.0f} µs" if floor else ""
        lines.append(f"median <= {BAR_S * 1e6:.0f} µs {met}: {name} ({median * 1e6:.0f} µs{over})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.spread", description=__doc__)
    parser.add_argument("--phases", type=int, default=50, help="batches per way of sending")
    parser.add_argument("--requests", type=int, default=20, help="requests per batch")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write JSON")
    parser.add_argument(
        "--busy", action="store_true", help="measure with a busy loop on CPU 0 (the loaded case)"
    )
    args = parser.parse_args(argv)
    print(f"load average before: {os.getloadavg()}", flush=True)
    doc = run(args)
    for line in verdict(doc["rows"]):
        print(line)
    print(f"load average after: {doc['loadavg_after']}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"report: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
