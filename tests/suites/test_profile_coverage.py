"""A profile that drops an argument a scenario relies on is reported before anything runs —
and the scenario that needs it does not run into a false alarm: listing deleted tasks is
inferred missing from the forgotten ``include_deleted``, and the reason says so."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from monitor.reference import ReferenceServer
from monitor.suites.loading.loader import load_profile, load_suite, resolve_profile, resolve_suite
from monitor.suites.loading.paths import builtin_suites
from monitor.suites.profile.coverage import ignored_arguments
from tests.suites.envelope_server import envelope_server

NEW_USER_PROFILE = Path(__file__).parent / "data" / "newuser-profile.yaml"


def _builtin_suites() -> list:  # type: ignore[type-arg]
    return [load_suite(resolve_suite(ref)).suite for ref in builtin_suites()]


def test_the_shipped_profiles_use_every_argument_the_built_in_scenarios_pass() -> None:
    suites = _builtin_suites()
    for name in ("reference", "envelope-example"):
        profile = load_profile(resolve_profile(name)).profile
        assert ignored_arguments(profile, suites) == [], name


def test_a_forgotten_argument_is_named_with_the_scenarios_that_pass_it() -> None:
    profile = load_profile(NEW_USER_PROFILE).profile
    gaps = {(g.operation, g.argument) for g in ignored_arguments(profile, _builtin_suites())}
    assert gaps == {
        ("tasks.list", "include_deleted"),
        ("points.add", "reason"),
        ("points.deduct", "reason"),
    }


async def test_run_warns_and_says_why_the_dependent_scenario_does_not_apply() -> None:
    async with ReferenceServer() as reference, envelope_server(reference.url) as url:
        cmd = [
            sys.executable, "-c", "from monitor.cli.app import main; main()", "run", "tasks",
            "--profile", str(NEW_USER_PROFILE), "--target", url,
            "--scenario", "concurrent-task-delete-and-complete",
        ]  # fmt: skip
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        out, err = await asyncio.wait_for(proc.communicate(), 120)
    stderr = err.decode()
    assert "tasks.list ignores argument 'include_deleted'" in stderr
    assert "tasks/concurrent-task-delete-and-complete" in stderr
    assert proc.returncode == 0, stderr + out.decode()
    shown = " ".join(out.decode().split())
    assert "not applicable" in shown
    assert "inferred: the profile's tasks.list never uses its include_deleted argument" in shown
