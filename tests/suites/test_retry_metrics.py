"""The target's own retry counter (profile ``metrics: {tx_retries_total: …}``) in the
deadlock-recovery scenario, against the reference target on a real PostgreSQL (where opposite
transfers really deadlock): the report says how many retries the target counted during the
phase; a correct target passes whether or not anything deadlocked, a target that hands its
deadlock victims to the client (fault ``no-deadlock-retry``) fails "deadlock victims are
retried"; a profile that does not map the counter makes the check not applicable."""

from __future__ import annotations

import re

import pytest

from monitor.suites.loading.loader import LoadedSuite, load_profile
from monitor.suites.loading.paths import builtin_profiles
from monitor.suites.results import CheckResult, ScenarioResult
from monitor.suites.run.runner import RunOptions, run_suites
from tests.plugins.target_process import forked_target
from tests.suites.builtin import builtin

PROFILE = load_profile(builtin_profiles()["reference"]).profile
CHECK = "deadlock victims are retried by the service"
COUNTED = re.compile(r"the target counted (\d+) retries during the phase")


def _deadlock_recovery() -> list[LoadedSuite]:
    return [builtin("isolation", "deadlock-recovery")]


async def _run(db_url: str | None, faults: list[str], seed: int) -> ScenarioResult:
    async with forked_target(db_url, faults) as url:
        run = await run_suites(url, PROFILE, _deadlock_recovery(), RunOptions(seed=seed))
    (scenario,) = run.scenarios
    return scenario


def _check(scenario: ScenarioResult) -> CheckResult:
    return next(c for c in scenario.checks if c.name == CHECK)


@pytest.mark.postgres
async def test_a_correct_target_passes_and_the_report_shows_its_retries(
    postgres_url: str,
) -> None:
    for seed in range(2):
        scenario = await _run(postgres_url, [], seed)
        check = _check(scenario)
        assert check.status == "passed", check.observed
        counted = COUNTED.search(check.observed)
        assert counted is not None, check.observed
        before = scenario.state["metrics_before"]["tx_retries_total"]
        after = scenario.state["metrics_after"]["tx_retries_total"]
        assert int(counted.group(1)) == after - before
        print(f"clean run {seed}: {check.observed}")  # how often it deadlocked, for the record


@pytest.mark.postgres
async def test_deadlock_victims_handed_to_the_client_fail_the_retry_check(
    postgres_url: str,
) -> None:
    for seed in range(3):  # a run where no transfer lost the race has nothing to retry
        scenario = await _run(postgres_url, ["no-deadlock-retry"], seed)
        check = _check(scenario)
        print(f"faulty run {seed}: {check.status}: {check.observed}")
        if scenario.status == "passed":
            assert check.status == "passed"  # nothing deadlocked: no retry needed, no alarm
            continue
        assert check.status == "failed", check.observed
        assert "the target counted 0 retries during the phase" in check.observed
        assert "retried nothing" in check.message
        return
    pytest.fail("no transfer deadlocked in 3 runs")


async def test_without_the_mapped_counter_the_check_is_not_applicable() -> None:
    unmapped = PROFILE.model_copy(
        update={"metrics": {k: v for k, v in PROFILE.metrics.items() if k != "tx_retries_total"}}
    )
    async with forked_target(None) as url:
        run = await run_suites(url, unmapped, _deadlock_recovery(), RunOptions(seed=1))
    (scenario,) = run.scenarios
    assert scenario.status == "passed"
    check = _check(scenario)
    assert check.status == "not_applicable"
    assert "target metric tx_retries_total" in (check.observed + check.message)
