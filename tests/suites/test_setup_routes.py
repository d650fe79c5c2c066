"""Setup reaches its state through whatever the profile offers, and the checks compare with
what was read back: the reference target with `points.add` and `rewards.grant` hidden (as a
service without admin endpoints) still runs the scenarios whose operation under test it has —
funded by the welcome gift (1,000 points, less than the 3,000 the spec's deduction scenario
asks for), stocked by buying rewards — with no failure and no error; the scenarios that test
`points.add` or `rewards.grant` themselves are not applicable, naming just that operation."""

from __future__ import annotations

from monitor.suites.loading.loader import LoadedSuite, load_profile
from monitor.suites.loading.paths import builtin_profiles
from monitor.suites.profile.models import Provides
from monitor.suites.run.runner import RunOptions, run_suites
from tests.plugins.target_process import forked_target
from tests.suites.builtin import builtin, problems

REFERENCE = load_profile(builtin_profiles()["reference"]).profile
NO_ADMIN = REFERENCE.model_copy(
    update={"provides": Provides(operations={"points.add": False, "rewards.grant": False})}
)
WANTED = {
    "points": [
        "concurrent-points-deduction",
        "balance-query-during-updates",
        "concurrent-points-addition",
    ],
    "isolation": ["deadlock-recovery"],
    "rewards": ["concurrent-reward-redemption", "reward-grant-and-query"],
    "tasks": ["concurrent-task-completion"],
}


def _suites() -> list[LoadedSuite]:
    return [builtin(name, *scenarios) for name, scenarios in WANTED.items()]


async def test_without_admin_endpoints_setup_funds_and_stocks_through_other_routes() -> None:
    async with forked_target(None) as url:
        run = await run_suites(url, NO_ADMIN, _suites(), RunOptions(seed=3))
    assert problems(run) == []
    by_name = {s.name: s for s in run.scenarios}
    for name in (
        "concurrent-points-deduction",
        "balance-query-during-updates",
        "deadlock-recovery",
        "concurrent-reward-redemption",
        "concurrent-task-completion",
    ):
        assert by_name[name].status == "passed", (name, by_name[name].skip_reason)
    deduction = by_name["concurrent-points-deduction"]
    assert deduction.state["funded"] == {"balance": 1000}  # the gift: 3 deductions of 300 fit
    assert by_name["concurrent-reward-redemption"].state["stocked"]["quantity"] == 5
    assert by_name["concurrent-points-addition"].skip_reason == (
        "profile 'reference' does not provide operation points.add"
    )
    assert by_name["reward-grant-and-query"].skip_reason == (
        "profile 'reference' does not provide operation rewards.grant"
    )
