"""The issue's "done when" experiments, repeated: false alarms, detection, SLO verdicts,
unknown outcomes and recovery times. Every target runs in a process of its own."""

from __future__ import annotations

import contextlib
import statistics
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from monitor.chaos.experiment.result import ExperimentResult
from tests.chaos.helpers import proxy_to, run
from tests.chaos_stats.conftest import ROWS
from tests.plugins.postgres import PostgresServer, create_database, drop_database, free_port
from tests.plugins.target_process import SERVE, TargetProcess


def _check(result: ExperimentResult, prefix: str) -> Any:
    return next((c for c in result.checks if c.name.startswith(prefix)), None)


def _kill_all(match: str) -> None:
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if match in " ".join(proc.cmdline()):
                proc.kill()


@pytest.fixture
async def pg_target(
    tmp_path: Path, postgres_server: PostgresServer
) -> AsyncIterator[tuple[TargetProcess, str]]:
    db_url = await create_database(postgres_server)
    target = TargetProcess(tmp_path, "pgtarget", port=free_port())
    target.db = db_url
    try:
        yield target, db_url
    finally:
        target.kill()
        _kill_all(f"--port {target.port}")
        await drop_database(postgres_server, db_url)


def _doc(url: str, method: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": "stats", "target": {"url": url, "timeout": "5s"},
        "workload": {"users": 6, "concurrency": 6},
        "slo": {"p95_ms": 250, "error_rate": 0.05, "min_requests": 20},
        "steady_state": {"baseline": "5s"},
        "method": method,
        "recovery": {"within": "30s", "observe": "5s"},
    }  # fmt: skip
    doc.update(more)
    return doc


async def test_network_latency_and_resets_on_postgres(
    tmp_path: Path, toxiproxy_api: str, pg_target: tuple[TargetProcess, str], chaos_runs: int
) -> None:
    """200 +/- 100 ms latency and 5 % resets for 30 s between soakmon and the target."""
    target, _ = pg_target
    url = await target.start()
    where, proxied = await proxy_to(toxiproxy_api, url)
    method = [
        {"name": "latency", "kind": "latency", **where, "latency": 200, "jitter": 100,
         "duration": "30s"},
        {"name": "resets", "kind": "reset-peer", **where, "toxicity": 0.05, "duration": "30s"},
    ]  # fmt: skip
    false_alarms, broke, recovered, unknown, skipped = 0, 0, 0, [], 0
    for i in range(chaos_runs):
        result = await run(tmp_path / f"r{i}", _doc(proxied, method))
        if result.status == "skipped":
            skipped += 1
            continue
        phases = {p.name: p for p in result.phases}
        conservation = _check(result, "no committed write")
        if conservation is None or conservation.passed is not True:
            false_alarms += 1
        broke += phases["during"].slo_met is False
        recovered += phases.get("after") is not None and phases["after"].slo_met is True
        unknown.append(phases["during"].stats["unknown"])
    ROWS.append({"experiment": "network 200+/-100ms + 5% resets, 30s, PostgreSQL",
                 "runs": chaos_runs, "skipped_steady_state": skipped,
                 "false_alarms": false_alarms, "slo_broken_during": broke,
                 "slo_met_after": recovered, "unknown_outcomes_per_run": unknown})  # fmt: skip
    ran = chaos_runs - skipped
    assert false_alarms == 0
    assert broke == ran
    assert recovered == ran


async def _kill_runs(tmp: Path, target: TargetProcess, runs: int) -> list[ExperimentResult]:
    url = await target.start()
    faults = [a for f in target.faults for a in ("--fault", f)]
    argv = [*SERVE, "--db", target.db, "--port", str(target.port), *faults]
    method = [{"name": "kill", "kind": "process-kill", "match": f"--port {target.port}",
               "restart": argv, "log": str(tmp / "restarted.log"), "after": "3s",
               "duration": "2s"}]  # fmt: skip
    doc = _doc(url, method, workload={"users": 6, "concurrency": 8},
               slo={"p95_ms": 1000, "error_rate": 0.5, "min_requests": 20})  # fmt: skip
    return [await run(tmp / f"r{i}", doc) for i in range(runs)]


async def test_sigkill_restart_storm(
    tmp_path: Path, pg_target: tuple[TargetProcess, str], chaos_runs: int
) -> None:
    target, _ = pg_target
    results = await _kill_runs(tmp_path, target, chaos_runs)
    bad = [r for r in results if _check(r, "no committed write").passed is not True]
    rec = [r.recovery_s for r in results if r.recovery_s is not None]
    median = round(statistics.median(rec), 2) if rec else None
    ROWS.append({"experiment": "SIGKILL + restart of soakmon target serve, PostgreSQL",
                 "runs": len(results), "false_alarms": len(bad),
                 "statuses": [r.status for r in results],
                 "recovery_s_median": median})  # fmt: skip
    assert not bad


async def test_sigkill_restart_still_catches_lost_update(
    tmp_path: Path, pg_target: tuple[TargetProcess, str], chaos_runs: int
) -> None:
    target, _ = pg_target
    target.faults = ["lost-update"]
    results = await _kill_runs(tmp_path, target, chaos_runs)
    caught = [r for r in results if _check(r, "no committed write").passed is False]
    ROWS.append({"experiment": "SIGKILL + restart, target with --fault lost-update",
                 "runs": len(results), "caught": len(caught)})  # fmt: skip
    assert len(caught) == len(results)


async def test_backend_termination_storm(
    tmp_path: Path, pg_target: tuple[TargetProcess, str], postgres_server: PostgresServer,
    chaos_runs: int,
) -> None:  # fmt: skip
    target, db_url = pg_target
    url = await target.start()
    database = db_url.rsplit("/", 1)[1]
    method = [{"name": "terminate", "kind": "pg-terminate", "dsn": postgres_server.admin_url,
               "database": database, "every": 0.5, "duration": "10s"}]  # fmt: skip
    doc = _doc(url, method, slo={"p95_ms": 1000, "error_rate": 0.5, "min_requests": 20})
    results = [await run(tmp_path / f"r{i}", doc) for i in range(chaos_runs)]
    bad = [r for r in results if _check(r, "no committed write").passed is not True]
    unknown = [p.stats.get("unknown") for r in results for p in r.phases if p.name == "during"]
    ROWS.append({"experiment": "pg_terminate_backend every 0.5s for 10s during a storm",
                 "runs": len(results), "false_alarms": len(bad),
                 "statuses": [r.status for r in results], "unknown_during": unknown})  # fmt: skip
    assert not bad


async def test_resets_on_the_database_link(
    tmp_path: Path, toxiproxy_api: str, postgres_server: PostgresServer, chaos_runs: int
) -> None:
    """5 % resets (and 20 ms) between the target and PostgreSQL for 30 s, target in a process."""
    db_url = await create_database(postgres_server)
    pg = f"{postgres_server.host}:{postgres_server.port}"
    where, _ = await proxy_to(toxiproxy_api, f"http://{pg}")
    target = TargetProcess(tmp_path, "dblink", port=free_port())
    target.db = db_url.replace(pg, where["listen"])
    try:
        url = await target.start()
        method = [{"name": "db-resets", "kind": "reset-peer", **where, "stream": "both",
                   "toxicity": 0.05, "duration": "30s"},
                  {"name": "db-latency", "kind": "latency", **where, "latency": 20,
                   "duration": "30s"}]  # fmt: skip
        doc = _doc(url, method, slo={"p95_ms": 1000, "error_rate": 0.5, "min_requests": 20})
        results = [await run(tmp_path / f"r{i}", doc) for i in range(chaos_runs)]
    finally:
        target.kill()
        await drop_database(postgres_server, db_url)
    bad = [r for r in results if _check(r, "no committed write").passed is not True]
    unknown = [p.stats.get("unknown") for r in results for p in r.phases if p.name == "during"]
    observed = [_check(r, "no committed write").observed for r in results]
    ROWS.append({"experiment": "5% resets + 20 ms between target and PostgreSQL, 30 s",
                 "runs": len(results), "false_alarms": len(bad),
                 "statuses": [r.status for r in results], "unknown_during": unknown,
                 "observed": observed})  # fmt: skip
    assert not bad
