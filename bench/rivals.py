"""The generators soakmon is compared with: Locust FastHttpUser, wrk and vegeta (command lines
and the parsers of what each leaves behind). Locust is only ever a subprocess: importing it
monkey-patches the interpreter with gevent."""

from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path
from typing import Any

from bench.plan import VENV_BIN, Plan, Throughput, float_or_none, tail
from bench.procs import BenchError, Measured, require_program

LOCUSTFILE = '''\
"""Written by soakmon's benchmark: the fastest plain Locust user, no think time."""

from locust import FastHttpUser, constant, task


class BenchUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def get(self) -> None:
        self.client.get({path!r})
'''


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
        raise BenchError(f"locust exited {run.returncode}: {tail(run.stderr or run.stdout)}")
    return locust_throughput(path.read_text())


def locust_throughput(stats_csv: str) -> Throughput:
    """Read the ``Aggregated`` row of Locust's ``--csv`` ``*_stats.csv``."""
    for row in csv.DictReader(stats_csv.splitlines()):
        if row.get("Name") == "Aggregated":
            return Throughput(
                requests=int(row["Request Count"]),
                errors=int(row["Failure Count"]),
                rps=float(row["Requests/s"]),
                p50_ms=float_or_none(row.get("50%")),
                p99_ms=float_or_none(row.get("99%")),
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
        raise BenchError(f"wrk exited {run.returncode}: {tail(run.stderr or run.stdout)}")
    return wrk_throughput(run.stdout)


def wrk_throughput(text: str) -> Throughput:
    """Read wrk's summary (``N requests in Xs``, ``Requests/sec``, errors, ``--latency``)."""
    total, rps = _WRK_TOTAL.search(text), _WRK_RPS.search(text)
    if total is None or rps is None:
        raise BenchError(f"cannot read wrk's output: {tail(text)}")
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
        raise BenchError(f"vegeta exited {run.returncode}: {tail(run.stderr or run.stdout)}")
    report = subprocess.run(
        [str(VEGETA), "report", "-type", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if report.returncode != 0:
        raise BenchError(f"vegeta report exited {report.returncode}: {tail(report.stderr)}")
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
