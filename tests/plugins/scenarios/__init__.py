"""Concurrency scenarios against a live reference target, each returning the violations it saw.

Every scenario sets up fresh users, fires its requests truly at once (one connection each, see
``concurrently``) and checks the guarantees of reference-api.md. A violation is ``"<tag>: text"``;
the tag names the guarantee (``statuses``, ``balance``, ``ledger``, ``items``, ``snapshot``,
``partial``, ``tasks``). The contract tests expect no violations; the fault tests run the same
scenario against a deliberately broken server and expect the matching tag.
"""

from __future__ import annotations

from tests.plugins.scenarios import points, rewards, tasks
from tests.plugins.scenarios.common import Scenario, Violations, metric_value
from tests.plugins.scenarios.points import transfer_storm

__all__ = ["SCENARIOS", "Scenario", "Violations", "metric_value", "transfer_storm"]

SCENARIOS = {
    s.name: s
    for s in (
        Scenario("deduct-10-fit", lambda h, b: points.deduct_storm(h, b, n=10)),
        Scenario("deduct-12-overflow", lambda h, b: points.deduct_storm(h, b, n=12)),
        Scenario("add-storm", points.add_storm),
        Scenario("mixed-add-deduct", points.mixed_add_deduct),
        Scenario("gift-storm", rewards.gift_storm),
        Scenario("top3-same-date", tasks.top3_same_date),
        Scenario("top3-different-dates", tasks.top3_different_dates),
        Scenario("transfer-storm", points.transfer_storm),
        Scenario("if-match-race", tasks.if_match_race),
        Scenario("redeem-storm", rewards.redeem_storm),
        Scenario("completion-bonus-race", tasks.completion_bonus_race),
        Scenario("task-create-storm", tasks.task_create_storm),
        Scenario("delete-and-complete", tasks.delete_and_complete),
        Scenario("snapshot-reads", points.snapshot_reads),
        Scenario("top3-reads-during-create", tasks.top3_reads_during_create),
        Scenario("grant-reads", rewards.grant_reads),
    )
}
