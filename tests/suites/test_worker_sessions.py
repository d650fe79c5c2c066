"""A sign-in during a sustained load run in worker processes changes the user's session in the
run, as it does in one process: the next phase acts as whom the user signed in as (reference
target on loopback, bounded)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml

from monitor.reference import ReferenceServer
from monitor.suites.loading.loader import load_profile, load_suite
from monitor.suites.loading.paths import builtin_profiles
from monitor.suites.results.history import History
from monitor.suites.run.runner import RunOptions, run_suites

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def signin_profile(tmp_path: Path) -> Path:
    """The reference profile and ``signin``: a new account whose token the user goes on with
    (the reference target's only sign-in is a registration; it saves the session as one)."""
    doc = yaml.safe_load(builtin_profiles()["reference"].read_text())
    doc["name"] = "reference-signin"
    doc["operations"]["signin"] = {
        "method": "POST", "path": "/auth/register", "auth": False,
        "body": {"username": "{username}"}, "session": {"token": "token", "user_id": "user_id"},
        "creates_session": False,
    }  # fmt: skip
    path = tmp_path / "signin.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def suite_file(tmp_path: Path, processes: int) -> Path:
    doc: dict[str, Any] = {
        "name": "signin",
        "scenarios": [{
            "name": "sign-in-under-load",
            "setup": [{"op": "register", "count": 4, "save": "vus"}],
            "phases": [
                {"label": "signins",
                 "load": {"vus": 4, "duration_s": 0.6, "processes": processes},
                 "ops": [{"op": "signin", "user": "vus",
                          "args": {"username": "${member.username}-s${index}"}}]},
                {"label": "after",
                 "ops": [{"op": "tasks.create", "user": "vus", "args": {"title": "after"}}]},
            ],
            "checks": [{"name": "ran", "cel": "true"}],
        }],
    }  # fmt: skip
    path = tmp_path / "signin-suite.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize("processes", [1, 2], ids=["in-process", "workers"])
async def test_the_phase_after_a_load_acts_as_whom_each_user_signed_in_as(
    tmp_path: Path, processes: int
) -> None:
    profile = load_profile(signin_profile(tmp_path)).profile
    seen: list[History] = []
    options = RunOptions(seed=3, on_history=lambda _s, _n, history, _st: seen.append(history))
    commands: list[str] = []

    async def watch_workers() -> None:  # what `ps` shows of the workers while they run
        me = psutil.Process(os.getpid())
        while True:
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    if "monitor.suites.run.phase_worker" in (line := " ".join(child.cmdline())):
                        commands.append(line)
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch_workers())
    try:
        async with ReferenceServer() as server:
            suite = load_suite(suite_file(tmp_path, processes), profile)
            run = await run_suites(server.url, profile, [suite], options)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
    (scenario,) = run.scenarios
    assert scenario.status == "passed", scenario.checks
    (history,) = seen
    ops = list(history.ops)
    # the accounts the setup registered (its public values, saved in the state)
    first = {f"vus[{i}]": user["user_id"] for i, user in enumerate(scenario.state["vus"])}
    last: dict[str, str] = {}
    for op in sorted((op for op in ops if op.kind == "signin" and op.code == "ok"),
                     key=lambda op: op.completed_at or 0.0):  # fmt: skip
        last[op.process] = op.value["user_id"]
    after = {op.process: op.value["user_id"] for op in ops if op.kind == "tasks.create"}
    assert set(after) == set(last) == {f"vus[{i}]" for i in range(4)}
    # each user's task belongs to the account of its last sign-in, not the one it began with
    assert after == last
    assert all(after[p] != first[p] for p in after)
    # the users' tokens never were on a worker's command line (any local user can read it)
    assert bool(commands) == (processes > 1)
    assert not any("token" in line for line in commands), commands[:1]
