"""The load generators compared by the benchmark, as a registry of command builders and parsers.

Each generator turns a :class:`Plan` into a command line (run pinned to one core by the caller)
and parses what the finished run left behind into a :class:`Throughput`. Locust is only ever a
subprocess: importing it monkey-patches the interpreter with gevent.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.procs import BenchError, Measured, require_program

VENV_BIN = Path(sys.executable).parent

LOCUSTFILE = '''\
"""Written by soakmon's benchmark: the fastest plain Locust user, no think time."""

from locust import FastHttpUser, constant, task


class BenchUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def get(self) -> None:
        self.client.get({path!r})
'''


@dataclass(frozen=True, slots=True)
class Plan:
    """One throughput run: the same target, VU count and duration for every generator."""

    target: str  # base URL, e.g. http://127.0.0.1:8080
    path: str
    vus: int
    duration_s: int
    workdir: Path  # private scratch directory for this run


@dataclass(slots=True)
class Throughput:
    """What a generator reported about its own run."""

    requests: int
    errors: int
    rps: float  # as the generator computed it
    p50_ms: float | None = None
    p99_ms: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Generator:
    """A load generator: how to start it for a plan, and how to read its result."""

    name: str
    label: str
    command: Callable[[Plan], list[str]]
    parse: Callable[[Plan, Measured], Throughput]
    needs: Callable[[], str | None] = lambda: None  # why it cannot run here, or None
    worker_cores: tuple[int, ...] = ()
    """Run on these cores, each child process it starts pinned to the next of them (workers
    on separate cores); empty: the whole process tree on the generator core."""


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
        raise BenchError(f"soakmon load exited {run.returncode}: {_tail(run.stderr or run.stdout)}")
    return soakmon_throughput(json.loads(path.read_text()))


def soakmon_throughput(doc: dict[str, Any]) -> Throughput:
    """Read the ``--json`` report of ``soakmon load`` (requests object + executor stats)."""
    req = doc.get("requests", doc)
    stats = doc.get("executor") or doc.get("stats") or {}
    total = int(req["total"])
    duration = _first_number(stats, doc, keys=("duration_s", "duration", "elapsed_s"))
    rate = _first_number(stats, doc, keys=("achieved_rate", "rps", "requests_per_s"))
    if rate is None:
        rate = total / duration if duration else 0.0
    lat = req.get("latency_ms", {})
    return Throughput(
        requests=total,
        errors=int(req.get("error_count", 0)),
        rps=float(rate),
        p50_ms=_float_or_none(lat.get("p50")),
        p99_ms=_float_or_none(lat.get("p99")),
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


# --- Locust --------------------------------------------------------------------------------


def locust_command(plan: Plan) -> list[str]:
    locustfile = plan.workdir / "locustfile.py"
    locustfile.write_text(LOCUSTFILE.format(path=plan.path))
    return [
        str(VENV_BIN / "locust"),
        "-f",
        str(locustfile),
        "--headless",
        "--host",
        plan.target,
        "--users",
        str(plan.vus),
        "--spawn-rate",
        str(plan.vus),
        "--run-time",
        f"{plan.duration_s}s",
        "--only-summary",
        "--csv",
        str(plan.workdir / "locust"),
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
        "--stop-timeout",
        "2",
    ]


def parse_locust(plan: Plan, run: Measured) -> Throughput:
    path = plan.workdir / "locust_stats.csv"
    if run.returncode != 0 or not path.exists():
        raise BenchError(f"locust exited {run.returncode}: {_tail(run.stderr or run.stdout)}")
    return locust_throughput(path.read_text())


def locust_throughput(stats_csv: str) -> Throughput:
    """Read the ``Aggregated`` row of Locust's ``--csv`` ``*_stats.csv``."""
    for row in csv.DictReader(stats_csv.splitlines()):
        if row.get("Name") == "Aggregated":
            return Throughput(
                requests=int(row["Request Count"]),
                errors=int(row["Failure Count"]),
                rps=float(row["Requests/s"]),
                p50_ms=_float_or_none(row.get("50%")),
                p99_ms=_float_or_none(row.get("99%")),
            )
    raise BenchError("locust's stats CSV has no Aggregated row")


def locust_needs() -> str | None:
    if not (VENV_BIN / "locust").exists():
        return "locust is not installed (uv sync --group dev --group bench)"
    return None


# --- wrk -----------------------------------------------------------------------------------


def wrk_command(plan: Plan) -> list[str]:
    return [
        require_program("wrk"),
        "-t1",
        f"-c{plan.vus}",
        f"-d{plan.duration_s}s",
        "--latency",
        plan.target + plan.path,
    ]


_WRK_TOTAL = re.compile(r"(\d+) requests in ([\d.]+)(ms|s|m)")
_WRK_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_WRK_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_WRK_NON2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_WRK_PCT = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(plan: Plan, run: Measured) -> Throughput:
    if run.returncode != 0:
        raise BenchError(f"wrk exited {run.returncode}: {_tail(run.stderr or run.stdout)}")
    return wrk_throughput(run.stdout)


def wrk_throughput(text: str) -> Throughput:
    """Read wrk's summary (``N requests in Xs``, ``Requests/sec``, errors, ``--latency``)."""
    total, rps = _WRK_TOTAL.search(text), _WRK_RPS.search(text)
    if total is None or rps is None:
        raise BenchError(f"cannot read wrk's output: {_tail(text)}")
    errors = sum(int(n) for n in m.groups()) if (m := _WRK_ERRORS.search(text)) else 0
    errors += int(m.group(1)) if (m := _WRK_NON2XX.search(text)) else 0
    pct = {int(p): float(v) * _UNIT_MS[u] for p, v, u in _WRK_PCT.findall(text)}
    return Throughput(
        requests=int(total.group(1)),
        errors=errors,
        rps=float(rps.group(1)),
        p50_ms=pct.get(50),
        p99_ms=pct.get(99),
    )


# --- vegeta (Go, MIT; built into .tools/bin by scripts/install-vegeta.sh) -----------------

VEGETA = Path(__file__).resolve().parent.parent / ".tools" / "bin" / "vegeta"


def vegeta_command(plan: Plan) -> list[str]:
    """``vegeta attack`` at its maximum rate with exactly ``plan.vus`` concurrent requests.

    ``-rate 0`` needs ``-max-workers``; with ``-workers`` equal to it, vegeta keeps ``vus``
    requests in flight on as many keep-alive connections (the closed model of the others).
    Its results go to a file that :func:`parse_vegeta` reports on after the measured run, so
    the report's CPU is not billed to the attack (the attack's own result encoding is).
    """
    targets = plan.workdir / "targets.txt"
    targets.write_text(f"GET {plan.target}{plan.path}\n")
    return [
        str(VEGETA),
        "attack",
        "-targets",
        str(targets),
        "-rate",
        "0",
        "-workers",
        str(plan.vus),
        "-max-workers",
        str(plan.vus),
        "-duration",
        f"{plan.duration_s}s",
        "-output",
        str(plan.workdir / "vegeta.bin"),
    ]


def parse_vegeta(plan: Plan, run: Measured) -> Throughput:
    path = plan.workdir / "vegeta.bin"
    if run.returncode != 0 or not path.exists():
        raise BenchError(f"vegeta exited {run.returncode}: {_tail(run.stderr or run.stdout)}")
    report = subprocess.run(
        [str(VEGETA), "report", "-type", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if report.returncode != 0:
        raise BenchError(f"vegeta report exited {report.returncode}: {_tail(report.stderr)}")
    return vegeta_throughput(json.loads(report.stdout))


def vegeta_throughput(doc: dict[str, Any]) -> Throughput:
    """Read ``vegeta report -type json`` (latencies in nanoseconds, ``success`` a ratio)."""
    total = int(doc["requests"])
    lat = doc.get("latencies", {})
    codes = doc.get("status_codes") or {}
    ok = sum(int(n) for code, n in codes.items() if str(code).startswith(("2", "3")))
    return Throughput(
        requests=total,
        errors=total - ok,
        rps=float(doc.get("throughput") or doc.get("rate") or 0.0),
        p50_ms=_ns_to_ms(lat.get("50th")),
        p99_ms=_ns_to_ms(lat.get("99th")),
    )


def vegeta_needs() -> str | None:
    if not VEGETA.exists():
        return "vegeta is not built (make .tools/bin/vegeta)"
    return None


def _ns_to_ms(value: Any) -> float | None:
    return None if value is None else float(value) / 1e6


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
        raise BenchError(f"exited {run.returncode}: {_tail(run.stderr or run.stdout)}")
    try:
        doc = json.loads(run.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise BenchError(f"cannot read its output: {_tail(run.stdout)}") from None
    total = int(doc["requests"])
    return Throughput(
        requests=total,
        errors=int(doc["errors"]),
        rps=total / doc["duration_s"],
        p50_ms=_float_or_none(doc.get("p50")),
        p99_ms=_float_or_none(doc.get("p99")),
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


def _first_number(*docs: dict[str, Any], keys: tuple[str, ...]) -> float | None:
    for doc in docs:
        for key in keys:
            value = doc.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
    return None


def _float_or_none(value: Any) -> float | None:
    try:
        return None if value in (None, "", "N/A") else float(value)
    except (TypeError, ValueError):
        return None


def _tail(text: str, lines: int = 6) -> str:
    return " | ".join(text.strip().splitlines()[-lines:]) or "(no output)"
