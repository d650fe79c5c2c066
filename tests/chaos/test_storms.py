"""Faults during a points storm: the target's process killed and restarted, its PostgreSQL
backends terminated. Committed writes are never lost or duplicated, unknown outcomes are never
called violations, and a planted lost update is still caught."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest

from monitor.chaos.experiment.result import ExperimentResult
from monitor.reference import ReferenceServer
from tests.chaos.helpers import experiment, proxy_to, run
from tests.plugins.postgres import PostgresServer, create_database, drop_database, free_port
from tests.plugins.target_process import SERVE, TargetProcess


def _conservation(result: ExperimentResult) -> tuple[bool | None, str]:
    check = next(c for c in result.checks if c.name.startswith("no committed write"))
    return check.passed, check.observed


def _kill_all(match: str) -> None:
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if match in " ".join(proc.cmdline()):
                proc.kill()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[TargetProcess]:
    target = TargetProcess(tmp_path, "storm", port=free_port())
    yield target
    target.kill()
    _kill_all(target.db)  # the copy the action restarted is not our child


def _kill_method(target: TargetProcess, tmp: Path) -> list[dict[str, object]]:
    argv = [*SERVE, "--db", target.db, "--port", str(target.port), *target_faults(target)]
    return [{"name": "kill-target", "kind": "process-kill", "match": target.db,
             "restart": argv, "log": str(tmp / "restarted.log"), "after": "1s",
             "duration": "1s"}]  # fmt: skip


def target_faults(target: TargetProcess) -> list[str]:
    return [arg for f in target.faults for arg in ("--fault", f)]


async def test_sigkill_and_restart_during_a_storm_loses_nothing(
    tmp_path: Path, served: TargetProcess
) -> None:
    url = await served.start()
    first = served.proc
    assert first is not None
    doc = experiment(url, _kill_method(served, tmp_path))
    result = await run(tmp_path, doc)
    assert first.poll() is not None  # killed
    kill = result.actions[0]
    assert kill.result == "ok", kill.error
    assert result.status == "passed", result.reason
    assert result.recovery_s is not None
    passed, observed = _conservation(result)
    assert passed is True, observed


async def test_a_planted_lost_update_is_still_caught_across_a_restart(
    tmp_path: Path, served: TargetProcess
) -> None:
    served.faults = ["lost-update"]
    url = await served.start()
    doc = experiment(url, _kill_method(served, tmp_path), workload={"concurrency": 8})
    result = await run(tmp_path, doc)
    assert result.actions[0].result == "ok"
    passed, observed = _conservation(result)
    assert passed is False
    assert "lost" in observed
    assert result.status == "failed"


@pytest.fixture
async def pg_target(postgres_server: PostgresServer) -> AsyncIterator[tuple[str, str]]:
    db_url = await create_database(postgres_server)
    try:
        async with ReferenceServer(db_url=db_url, host="127.0.0.1", port=0) as server:
            yield server.url, db_url
    finally:
        await drop_database(postgres_server, db_url)


async def test_terminated_backends_during_a_storm_are_never_a_false_violation(
    tmp_path: Path, pg_target: tuple[str, str], postgres_server: PostgresServer
) -> None:
    url, db_url = pg_target
    database = urlsplit(db_url).path.lstrip("/")
    method = [{"name": "kill-backends", "kind": "pg-terminate", "dsn": postgres_server.admin_url,
               "database": database, "every": 0.3, "duration": "3s"}]  # fmt: skip
    result = await run(tmp_path, experiment(url, method))
    assert result.actions[0].result == "ok"
    passed, observed = _conservation(result)
    assert passed is True, observed
    assert result.status == "passed", result.reason


async def test_resets_between_the_target_and_its_database_never_a_false_violation(
    tmp_path: Path, toxiproxy_api: str, postgres_server: PostgresServer
) -> None:
    """Resets on the target's database connections: a transaction whose COMMIT answer is lost
    is ambiguous for the target itself (a 5xx: unknown); the ledger still balances."""
    db_url = await create_database(postgres_server)
    pg = f"{postgres_server.host}:{postgres_server.port}"
    where, _ = await proxy_to(toxiproxy_api, f"http://{pg}")
    proxied_db = db_url.replace(pg, where["listen"])
    try:
        async with ReferenceServer(db_url=proxied_db, host="127.0.0.1", port=0) as server:
            method = [{"name": "db-resets", "kind": "reset-peer", **where, "stream": "both",
                       "toxicity": 0.3, "duration": "3s"},
                      {"name": "db-latency", "kind": "latency", **where, "latency": 20,
                       "duration": "3s"}]  # fmt: skip
            result = await run(tmp_path, experiment(server.url, method))
    finally:
        await drop_database(postgres_server, db_url)
    assert [a.result for a in result.actions] == ["ok", "ok"]
    passed, observed = _conservation(result)
    assert passed is True, observed
