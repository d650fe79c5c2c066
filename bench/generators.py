"""The load generators compared by the benchmark, as a registry of command builders and parsers.

Each generator turns a :class:`Plan` into a command line (run pinned to one core by the caller)
and parses what the finished run left behind into a :class:`Throughput`. soakmon's own rows and
the diagnostic ceilings are here; the other tools' are in :mod:`bench.rivals`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from bench.plan import (
    VENV_BIN,
    Generator,
    Plan,
    Throughput,
    first_number,
    float_or_none,
    tail,
)
from bench.procs import BenchError, Measured
from bench.rivals import (
    locust_command,
    locust_needs,
    parse_locust,
    parse_vegeta,
    parse_wrk,
    vegeta_command,
    vegeta_needs,
    wrk_command,
)

# --- soakmon -------------------------------------------------------------------------------


def soakmon_command(mode: str, *extra: str) -> Callable[[Plan], list[str]]:
    def build(plan: Plan) -> list[str]:
        return [
            str(VENV_BIN / "soakmon"),
            "load",
            "--target",
            plan.target,
            "--path",
            plan.path,
            "--vus",
            str(plan.vus),
            "--duration",
            f"{plan.duration_s}s",
            "--mode",
            mode,
            "--json",
            str(plan.workdir / "soakmon.json"),
            "--quiet",
            *extra,
        ]

    return build


def parse_soakmon(plan: Plan, run: Measured) -> Throughput:
    path = plan.workdir / "soakmon.json"
    if run.returncode != 0 or not path.exists():
        raise BenchError(f"soakmon load exited {run.returncode}: {tail(run.stderr or run.stdout)}")
    return soakmon_throughput(json.loads(path.read_text()))


def soakmon_throughput(doc: dict[str, Any]) -> Throughput:
    """Read the ``--json`` report of ``soakmon load`` (requests object + executor stats)."""
    req = doc.get("requests", doc)
    stats = doc.get("executor") or doc.get("stats") or {}
    total = int(req["total"])
    duration = first_number(stats, doc, keys=("duration_s", "duration", "elapsed_s"))
    rate = first_number(stats, doc, keys=("achieved_rate", "rps", "requests_per_s"))
    if rate is None:
        rate = total / duration if duration else 0.0
    lat = req.get("latency_ms", {})
    return Throughput(
        requests=total,
        errors=int(req.get("error_count", 0)),
        rps=float(rate),
        p50_ms=float_or_none(lat.get("p50")),
        p99_ms=float_or_none(lat.get("p99")),
        extra={"duration_s": duration},
    )


def soakmon_flag_check(flag: str) -> Callable[[], str | None]:
    """A ``needs`` check: the installed ``soakmon load`` must expose ``flag``."""

    def check() -> str | None:
        from bench.probe import load_help

        help_text = load_help()
        if help_text is None:
            return "soakmon load is not available yet"
        return None if flag in help_text else f"soakmon load has no {flag} option"

    return check


# --- diagnostic ceilings (bench.bare_aiohttp, bench.bare_protocol) -------------------------


def bare_command(module: str, *extra: str) -> Callable[[Plan], list[str]]:
    def build(plan: Plan) -> list[str]:
        return [
            sys.executable,
            "-m",
            module,
            "--url",
            plan.target + plan.path,
            "--vus",
            str(plan.vus),
            "--duration",
            str(plan.duration_s),
            *extra,
        ]

    return build


def parse_bare(plan: Plan, run: Measured) -> Throughput:
    if run.returncode != 0:
        raise BenchError(f"exited {run.returncode}: {tail(run.stderr or run.stdout)}")
    try:
        doc = json.loads(run.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise BenchError(f"cannot read its output: {tail(run.stdout)}") from None
    total = int(doc["requests"])
    return Throughput(
        requests=total,
        errors=int(doc["errors"]),
        rps=total / doc["duration_s"],
        p50_ms=float_or_none(doc.get("p50")),
        p99_ms=float_or_none(doc.get("p99")),
    )


def fastpath_needs() -> str | None:
    try:
        import httptools  # noqa: F401
    except ImportError:
        return "httptools is not installed (uv sync --group dev --group bench)"
    return None


# --- registry ------------------------------------------------------------------------------

GENERATORS: dict[str, Generator] = {
    g.name: g
    for g in (
        Generator(
            "soakmon",
            "soakmon load (shared, fast path, uvloop)",
            soakmon_command("shared"),
            parse_soakmon,
            soakmon_flag_check("--mode"),
        ),
        Generator(
            "soakmon-2proc",
            "soakmon load --processes 2 (both on the pinned core; CPU summed)",
            soakmon_command("shared", "--processes", "2"),
            parse_soakmon,
            soakmon_flag_check("--processes"),
        ),
        Generator(
            "soakmon-2proc-spread",
            "soakmon load --processes 2 (worker i pinned to CPU i; CPU summed)",
            soakmon_command("shared", "--processes", "2"),
            parse_soakmon,
            soakmon_flag_check("--processes"),
            worker_cores=(0, 1),
        ),
        Generator(
            "soakmon-asyncio",
            "soakmon load (shared, fast path, plain asyncio)",
            soakmon_command("shared", "--no-uvloop"),
            parse_soakmon,
            soakmon_flag_check("--no-uvloop"),
        ),
        Generator(
            "soakmon-aiohttp",
            "soakmon load (shared aiohttp pool, uvloop)",
            soakmon_command("shared", "--no-fast-path"),
            parse_soakmon,
            soakmon_flag_check("--no-fast-path"),
        ),
        Generator(
            "soakmon-per-user",
            "soakmon load (session per VU)",
            soakmon_command("per-user"),
            parse_soakmon,
            soakmon_flag_check("--mode"),
        ),
        Generator(
            "soakmon-per-request",
            "soakmon load (session per request)",
            soakmon_command("per-request"),
            parse_soakmon,
            soakmon_flag_check("--mode"),
        ),
        Generator(
            "locust",
            "Locust FastHttpUser",
            locust_command,
            parse_locust,
            locust_needs,
        ),
        Generator("wrk", "wrk -t1", wrk_command, parse_wrk),
        Generator("vegeta", "vegeta attack (Go)", vegeta_command, parse_vegeta, vegeta_needs),
        Generator(
            "bare-aiohttp",
            "ceiling: bare aiohttp loop, no engine",
            bare_command("bench.bare_aiohttp"),
            parse_bare,
        ),
        Generator(
            "fastpath",
            "bench prototype: Protocol + httptools + records",
            bare_command("bench.bare_fastpath"),
            parse_bare,
            fastpath_needs,
        ),
        Generator(
            "bare-protocol",
            "ceiling: bare asyncio.Protocol + uvloop",
            bare_command("bench.bare_protocol"),
            parse_bare,
        ),
    )
}


DEFAULT_GENERATORS = tuple(n for n in GENERATORS if not n.startswith("soakmon-2proc"))
"""What ``make bench`` runs in its throughput table: ``--processes 2`` is judged by the scaling
part (:mod:`bench.scaling`), measured mid-run in interleaved rounds."""
