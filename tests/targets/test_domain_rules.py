"""Domain rules the built-in suites did not assume, declared in a profile: a completion bonus
drawn at random from a range, and a welcome gift of several pieces of each kind. No false alarm
on the correct service (10 runs); a double payout is still caught."""

from __future__ import annotations

from monitor.suites.run.runner import RunOptions, run_suites
from tests.suites.builtin import builtin, problems
from tests.targets.common import profile, scenario
from tests.targets.lottery_server import lottery_server

LOTTERY = profile("lottery")


def _suites() -> list:  # type: ignore[type-arg]
    return [
        builtin("rewards", "concurrent-welcome-gift", "concurrent-reward-redemption"),
        builtin("tasks", "concurrent-task-completion"),
        builtin("oversubscription", "same-task-completed-concurrently"),
    ]


async def test_ten_runs_of_a_random_bonus_and_a_multi_piece_gift_raise_no_false_alarm() -> None:
    for seed in range(10):
        async with lottery_server(seed=seed) as url:
            run = await run_suites(url, LOTTERY, _suites(), RunOptions(seed=seed))
        assert problems(run) == [], seed
        assert [s.status for s in run.scenarios] == ["passed"] * 4, seed


async def test_check_names_are_rendered_from_the_parameters() -> None:
    async with lottery_server(seed=1) as url:
        run = await run_suites(url, LOTTERY, _suites(), RunOptions(seed=1))
    names = [c.name for s in run.scenarios for c in s.checks]
    assert "points awarded correctly (10–50 per Top3 task)" in names
    assert "exactly 300 points" in names
    assert "exactly the gift's items: time_freeze ×2, points_boost ×3" in names
    gift = scenario(run, "concurrent-welcome-gift")
    assert {r["reward"]: r["quantity"] for r in gift.state["rewards"]} == {
        "time_freeze": 2,
        "points_boost": 3,
    }


async def test_a_double_payout_is_caught_though_each_bonus_is_random() -> None:
    suite = builtin("oversubscription", "same-task-completed-concurrently")
    caught = 0
    for seed in range(5):
        async with lottery_server(double_payout=True, seed=seed) as url:
            run = await run_suites(url, LOTTERY, [suite], RunOptions(seed=seed))
        (sc,) = run.scenarios
        failed = {c.name for c in sc.failed_checks}
        caught += "one bonus row in the ledger" in failed
        assert sc.status != "error", problems(run)
    print(f"double payout caught in {caught} of 5 runs")  # for the record (-s)
    assert caught >= 4, f"caught in {caught} of 5 runs"  # a run on a starved CPU may not race


async def test_oversubscription_follows_the_balance_a_generous_gift_leaves() -> None:
    """A gift of 1000 coins pays for 8 Top3s of 120 where 2 were asked for: the attempts follow
    the balance read back (8 + 4), so 4 are still refused (6 fixed attempts would all pass)."""
    suite = builtin("oversubscription", "top3-more-dates-than-affordable")
    generous = LOTTERY.model_copy(update={"params": {**LOTTERY.params, "gift_points": 1000}})
    async with lottery_server(seed=1, gift_coins=1000) as url:
        run = await run_suites(url, generous, [suite], RunOptions(seed=1))
    (sc,) = run.scenarios
    assert problems(run) == []
    assert sc.state["funded"]["balance"] == 1000
    assert sc.outcomes["top3.set"] == {"ok": 8, "insufficient_points": 4}
