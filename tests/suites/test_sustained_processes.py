"""A sustained load in worker processes (``load: {processes: 2}``): one history for the checks,
exact request counts, a dead worker an error (reference target on loopback, bounded)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml

from monitor.engine import RequestHooks, RequestRecord
from monitor.reference import ReferenceServer
from monitor.suites.errors import ConfigError
from monitor.suites.loading.loader import load_profile, load_suite
from monitor.suites.loading.paths import builtin_profiles
from monitor.suites.results.history import History
from monitor.suites.run.runner import RunOptions, run_suites

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
PROFILE = load_profile(builtin_profiles()["reference"]).profile


def suite_file(tmp_path: Path, *, processes: Any = 2, duration: float = 1.5) -> Path:
    doc: dict[str, Any] = {
        "name": "split",
        "scenarios": [{
            "name": "loop",
            "setup": [{"op": "register", "count": 4, "save": "vus"}],
            "phases": [{
                "load": {"vus": 4, "duration_s": duration, "window_s": 0.5,
                         "processes": processes},
                "ops": [{"op": "points.balance", "user": "vus"},
                        {"op": "points.deduct", "user": "vus", "args": {"amount": 1000000}}],
            }],
            "checks": [{"name": "every user loaded", "cel": "true"}],
        }],
    }  # fmt: skip
    path = tmp_path / "split.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


async def test_a_load_in_two_processes_is_one_history(tmp_path: Path) -> None:
    seen: list[History] = []
    hooks = RequestHooks()
    done: list[RequestRecord] = []
    hooks.add_request_done(done.append)
    options = RunOptions(
        seed=5, on_history=lambda _s, _n, history, _st: seen.append(history), hooks=hooks
    )
    async with ReferenceServer() as server:
        run = await run_suites(server.url, PROFILE, [load_suite(suite_file(tmp_path))], options)
    (scenario,) = run.scenarios
    assert scenario.status == "passed", scenario.checks
    (history,) = seen
    loaded = [op for op in history.ops if op.kind in ("points.balance", "points.deduct")]
    assert {op.process for op in loaded} == {f"vus[{i}]" for i in range(4)}  # both workers'
    assert {op.code for op in loaded if op.kind == "points.deduct"} == {"insufficient_points"}
    assert {op.code for op in loaded if op.kind == "points.balance"} == {"ok"}
    # every call is one request, counted exactly in the phase's aggregate
    assert scenario.requests["total"] == len(loaded)
    assert scenario.requests["status_codes"] == {
        "200": sum(op.kind == "points.balance" for op in loaded),
        "409": sum(op.kind == "points.deduct" for op in loaded),
    }
    # the two workers' users (vus[0-1], vus[2-3]) loaded at the same time
    spans = [[op.invoked_at for op in loaded if op.process in users]
             for users in ({"vus[0]", "vus[1]"}, {"vus[2]", "vus[3]"})]  # fmt: skip
    assert max(min(s) for s in spans) < min(max(s) for s in spans)
    assert scenario.state["throughput"]["total"] == len(loaded)
    # the run's request listeners (the daemon's metrics) saw every worker's requests
    names = [r.name for r in done]
    assert names.count("points.balance") + names.count("points.deduct") == len(loaded)


async def test_a_dead_worker_is_an_error_naming_it(tmp_path: Path) -> None:
    async def kill_a_worker() -> int:
        me = psutil.Process(os.getpid())
        while True:
            for child in me.children(recursive=True):
                try:
                    if "monitor.suites.run.phase_worker" in " ".join(child.cmdline()):
                        await asyncio.sleep(1.0)  # it is loading
                        child.send_signal(signal.SIGKILL)
                        return child.pid
                except psutil.NoSuchProcess:
                    continue
            await asyncio.sleep(0.05)

    async with ReferenceServer() as server:
        killer = asyncio.create_task(kill_a_worker())
        run = await run_suites(
            server.url, PROFILE, [load_suite(suite_file(tmp_path, duration=6.0))],
            RunOptions(seed=6),
        )  # fmt: skip
        pid = await killer
    (scenario,) = run.scenarios
    assert scenario.status == "error"
    messages = " ".join(c.message or "" for c in scenario.checks)
    assert f"(pid {pid}) died: killed by SIGKILL" in messages, scenario.checks


def test_processes_is_checked_at_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_suite(suite_file(tmp_path, processes=0))
    assert "load.processes" in str(err.value)
    assert "split.yaml:" in str(err.value)


@pytest.mark.parametrize("processes", [1, 2], ids=["in-process", "workers"])
async def test_a_load_whose_target_went_away_backs_off(tmp_path: Path, processes: int) -> None:
    """The target stops between the setup and the load: every call of the load is refused and
    counted, and each user backs off instead of retrying on the spot."""
    doc = yaml.safe_load(suite_file(tmp_path, processes=processes, duration=2.0).read_text())
    doc["scenarios"][0]["phases"][0]["idle_before_s"] = 1.0
    path = tmp_path / "gone.yaml"
    path.write_text(yaml.safe_dump(doc))
    seen: list[History] = []
    registered: list[RequestRecord] = []
    setup_done = asyncio.Event()

    def on_request(record: RequestRecord) -> None:
        if record.url.endswith("/auth/register") and record.status == 201:
            registered.append(record)
            if len(registered) == 4:
                setup_done.set()

    hooks = RequestHooks()
    hooks.add_request_done(on_request)
    options = RunOptions(
        seed=5, on_history=lambda _s, _n, history, _st: seen.append(history), hooks=hooks
    )
    server = ReferenceServer()
    await server.start()
    try:
        task = asyncio.create_task(run_suites(server.url, PROFILE, [load_suite(path)], options))
        # stop the target once the setup's 4 registrations are answered: the load waits 1 s
        # after them (a fixed sleep here lost the race to the setup on a busy machine)
        await asyncio.wait_for(setup_done.wait(), 60)
    finally:
        await server.stop()
    await task
    (history,) = seen
    load = [e for e in history if e.kind in ("points.balance", "points.deduct")]
    assert load, "the load's calls are recorded"
    assert all(e.outcome.value != "ok" for e in load)
    # 4 users for 2 s, backing off up to 1 s after each refused call (thousands without)
    assert len(load) <= 4 * 16, len(load)
