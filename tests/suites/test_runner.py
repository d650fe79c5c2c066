"""The scenario runner end to end against a real reference target on loopback."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from monitor.engine import ConnectionMode
from monitor.reference import ReferenceServer
from monitor.suites.loading.loader import LoadedSuite, load_profile
from monitor.suites.loading.paths import builtin_profiles
from monitor.suites.results.history import History
from monitor.suites.run.runner import RunOptions, TargetUnreachable, run_suites
from monitor.suites.suite.models import Suite
from tests.suites.builtin import builtin

PROFILE = load_profile(builtin_profiles()["reference"]).profile


suite = builtin


async def test_points_and_tasks_suites_pass_on_a_clean_target() -> None:
    async with ReferenceServer() as server:
        run = await run_suites(
            server.url, PROFILE, [suite("points"), suite("tasks")], RunOptions(seed=3)
        )
    assert [(s.name, s.status) for s in run.scenarios] == [
        ("concurrent-points-deduction", "passed"),
        ("concurrent-points-addition", "passed"),
        ("mixed-points-operations", "passed"),
        ("balance-query-during-updates", "passed"),
        ("concurrent-task-completion", "passed"),
        ("concurrent-task-creation", "passed"),
        ("concurrent-task-delete-and-complete", "passed"),
    ]
    deduction = run.scenarios[0]
    assert deduction.spec_ref == "Concurrent points deduction with balance check"
    assert deduction.requests["total"] == 13
    assert deduction.requests["status_codes"] == {"200": 10, "409": 3}
    assert len(deduction.checks) == 4
    assert all(c.passed for c in deduction.checks)
    assert deduction.timeline
    assert deduction.histogram
    assert (run.seed, run.profile, run.passed) == (3, "reference", True)


async def test_a_fault_fails_the_guarding_check_with_evidence() -> None:
    async with ReferenceServer(faults=["overdraft"]) as server:
        run = await run_suites(
            server.url, PROFILE, [suite("points", "concurrent-points-deduction")], RunOptions()
        )
    (scenario,) = run.scenarios
    assert scenario.status == "failed"
    failed = {c.name: c for c in scenario.failed_checks}
    assert "balance never negative" in failed
    assert failed["balance never negative"].evidence
    assert not run.passed


def _capture() -> tuple[list[Any], Any]:
    seen: list[Any] = []

    def observe(suite: str, scenario: str, history: History, state: Mapping[str, Any]) -> None:
        planned = sorted(history.ops, key=lambda op: op.id)
        # what the client chose (server-made ids such as task ids differ between targets)
        chosen = [
            (op.kind, {k: v for k, v in op.args.items() if k != "task_ids"}) for op in planned
        ]
        seen.append((chosen, state["alice"]["username"]))

    return seen, observe


async def test_the_seed_makes_names_dates_and_operation_order_reproducible() -> None:
    chosen = [
        suite("points", "mixed-points-operations"),
        suite("top3", "concurrent-top3-different-dates"),
    ]
    runs = []
    for seed in (11, 11, 12):
        seen, observe = _capture()
        async with ReferenceServer() as server:
            await run_suites(server.url, PROFILE, chosen, RunOptions(seed=seed, on_history=observe))
        runs.append(seen)
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    (mixed_order, name), (top3_ops, _) = runs[0]
    assert [kind for kind, _ in mixed_order].count("points.add") == 5
    assert len({args["date"] for _, args in top3_ops}) == 3
    assert name.startswith("sm")


async def test_rerunning_a_seed_against_the_same_target_still_registers_users() -> None:
    chosen = [suite("rewards", "concurrent-welcome-gift")]
    async with ReferenceServer() as server:
        first = await run_suites(server.url, PROFILE, chosen, RunOptions(seed=5))
        second = await run_suites(server.url, PROFILE, chosen, RunOptions(seed=5))
    assert first.passed
    assert second.passed
    assert [s.status for s in second.scenarios] == ["passed"]


async def test_a_failing_setup_step_is_an_error_naming_the_step_and_answer() -> None:
    loaded = suite("points", "concurrent-points-addition")
    raw = loaded.suite.model_dump(exclude_defaults=True)
    raw["scenarios"][0]["setup"][1]["args"]["amount"] = -5  # rejected by the target
    broken = LoadedSuite(Suite.model_validate(raw), loaded.file, loaded.locations)
    async with ReferenceServer() as server:
        run = await run_suites(server.url, PROFILE, [broken], RunOptions())
    (scenario,) = run.scenarios
    assert scenario.status == "error"  # could not be evaluated: not a violation
    assert not run.passed
    assert run.status == "error"
    (check,) = scenario.checks
    assert check.status == "error"
    # the step, the outcome, the status and the target's own message
    assert check.observed.startswith(
        "setup[1] points.add as alice: got invalid_request, HTTP 422 ("
    )
    assert "amount" in check.observed
    assert check.observed.endswith("), expected ok")


async def test_parameters_flow_from_the_command_line() -> None:
    async with ReferenceServer() as server:
        run = await run_suites(
            server.url,
            PROFILE,
            [suite("points", "concurrent-points-addition")],
            RunOptions(overrides={"requests": 4, "add_amount": 25}),
        )
    (scenario,) = run.scenarios
    assert scenario.requests["total"] == 4
    assert scenario.status == "passed"


@pytest.mark.parametrize("mode", [ConnectionMode.PER_REQUEST, ConnectionMode.PER_USER])
async def test_every_connection_mode_runs_the_scenarios(mode: ConnectionMode) -> None:
    chosen = [suite("top3", "concurrent-top3-same-date")]
    async with ReferenceServer() as server:
        run = await run_suites(server.url, PROFILE, chosen, RunOptions(mode=mode))
    assert [s.status for s in run.scenarios] == ["passed"]


async def test_an_unreachable_target_is_reported_as_such() -> None:
    with pytest.raises(TargetUnreachable, match="unreachable"):
        await run_suites("http://127.0.0.1:9", PROFILE, [suite("points")], RunOptions())
