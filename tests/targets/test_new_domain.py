"""soakmon tried as a new user on a new API of another domain (tests/targets/venue_server.py:
bookings, passes, a wallet, on SQLite) with a profile written from the docs: every built-in
suite runs without a false alarm, and the planted defects are caught."""

from __future__ import annotations

import json

from monitor.suites.loading.loader import load_suite
from monitor.suites.loading.paths import builtin_suites
from monitor.suites.results import to_json
from monitor.suites.run.runner import RunOptions, run_suites
from tests.suites.budgets import BUDGETS
from tests.suites.builtin import builtin, problems
from tests.targets.common import profile, scenario
from tests.targets.venue_server import venue_server

VENUE = profile("venue")
QUICK = {"sustained_s": 2, "idle_s": 0.5}


async def test_every_built_in_suite_runs_against_the_venue_api_without_a_false_alarm() -> None:
    suites = [load_suite(p) for p in builtin_suites().values()]
    async with venue_server() as url:
        run = await run_suites(url, VENUE, suites, RunOptions(seed=2, overrides=QUICK))
    assert problems(run, BUDGETS) == []
    skipped = {s.name: s.skip_reason for s in run.scenarios if s.status == "skipped"}
    assert skipped == {}  # the profile maps every operation and field the suites need
    # only the checks on the service's own metrics (it has none) are not applicable
    na = {c.name for s in run.scenarios for c in s.not_applicable_checks}
    assert all("target metric" in c.message for s in run.scenarios for c in s.not_applicable_checks)
    assert na  # memory and pool checks of the load suite
    # session secrets never reach the report
    text = json.dumps(to_json(run))
    assert "refresh" not in text
    assert "token" not in text


async def test_the_planted_defects_of_the_venue_api_are_caught() -> None:
    suites = [
        builtin("oversubscription", "rewards-buy-more-than-affordable"),
        builtin("rewards", "concurrent-welcome-gift", "concurrent-reward-redemption"),
    ]
    async with venue_server(faults=("oversell", "double-pack", "overscan")) as url:
        run = await run_suites(url, VENUE, suites, RunOptions(seed=4))
    buy = scenario(run, "rewards-buy-more-than-affordable")
    assert "no more sales than the balance pays for" in {c.name for c in buy.failed_checks}
    gift = scenario(run, "concurrent-welcome-gift")
    assert "exactly one claim succeeds, the others are already_claimed" in {
        c.name for c in gift.failed_checks
    }
    # the overdraft the database's CHECK stopped escaped as a plain-text 500 traceback: the
    # automatic verdict fails and its evidence quotes the traceback's last line
    redeem = scenario(run, "concurrent-reward-redemption")
    (auto,) = [c for c in redeem.failed_checks if c.name == "no server errors (automatic)"]
    assert any("CHECK constraint failed" in line for line in auto.evidence), auto.evidence
