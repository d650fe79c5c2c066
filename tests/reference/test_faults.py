"""The concurrency scenarios can fail: each fault breaks one guarantee and its scenario sees it.

A race is not certain to show in one round, so each case retries a few times (bounded).
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
import pytest

from tests.plugins.api import Response, concurrently, register
from tests.plugins.reference import ReferenceFactory
from tests.plugins.scenarios import SCENARIOS

pytestmark = pytest.mark.timeout(180)

ATTEMPTS = 4


@dataclass(frozen=True)
class FaultCase:
    fault: str
    scenario: str  # the SCENARIOS entry that must catch it
    tags: frozenset[str]  # a violation with one of these tags proves the catch
    db: str = "postgres"

    def param(self) -> object:
        marks = [pytest.mark.postgres] if self.db == "postgres" else []
        return pytest.param(self, id=f"{self.fault}-{self.db}", marks=marks)


def _case(fault: str, scenario: str, tags: str, db: str = "postgres") -> FaultCase:
    return FaultCase(fault, scenario, frozenset(tags.split()), db)


CASES = [
    _case("lost-update", "add-storm", "balance ledger", "sqlite"),
    _case("lost-update", "add-storm", "balance ledger"),
    _case("overdraft", "deduct-12-overflow", "statuses balance", "sqlite"),
    _case("overdraft", "deduct-12-overflow", "statuses balance"),
    _case("double-gift", "gift-storm", "statuses balance ledger items"),
    _case("double-top3", "top3-same-date", "statuses balance ledger"),
    _case("ignore-if-match", "if-match-race", "statuses tasks", "sqlite"),
    _case("no-deadlock-retry", "transfer-storm", "statuses"),
    _case("reward-overdraft", "redeem-storm", "statuses items"),
    _case("double-completion-bonus", "completion-bonus-race", "ledger"),
    _case("task-id-collision", "task-create-storm", "statuses tasks"),
    _case("skewed-snapshot", "snapshot-reads", "snapshot"),
    _case("partial-top3", "top3-reads-during-create", "partial"),
    _case("partial-grant", "grant-reads", "partial"),
    _case("dirty-read", "snapshot-reads", "snapshot"),
    _case("skewed-snapshot", "snapshot-reads", "snapshot", "sqlite"),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", [c.param() for c in CASES])
async def test_fault_is_caught_by_its_scenario(
    reference_factory: ReferenceFactory, http: aiohttp.ClientSession, case: FaultCase
) -> None:
    base = await reference_factory(db=case.db, faults=(case.fault,))
    seen: list[str] = []
    for _ in range(ATTEMPTS):
        seen = await SCENARIOS[case.scenario].run(http, base)
        if any(v.split(":", 1)[0] in case.tags for v in seen):
            return
    pytest.fail(f"{case.fault!r} went unnoticed by {case.scenario!r} in {ATTEMPTS} rounds: {seen}")


def test_every_case_names_a_known_scenario() -> None:
    assert {c.scenario for c in CASES} <= set(SCENARIOS)


@pytest.mark.slow
@pytest.mark.postgres
async def test_unretried_deadlock_victims_get_503_retry_later(
    reference_factory: ReferenceFactory, http: aiohttp.ClientSession
) -> None:
    """The contract's 503 row: a transient failure that is not (or no longer) retried."""
    base = await reference_factory(db="postgres", faults=("no-deadlock-retry",))
    alice, bob = await register(http, base), await register(http, base)
    await alice.fund(1000)
    await bob.fund(1000)
    pair = [alice, bob]
    failed: list[Response] = []
    for _ in range(ATTEMPTS):
        got = await concurrently(
            40,
            base,
            None,
            lambda c, i: c.as_user(pair[i % 2].token).post(
                "/points/transfer", {"to_user_id": pair[1 - i % 2].user_id, "amount": 1}
            ),
        )
        failed = [r for r in got if r.status != 200]
        if failed:
            break
    assert failed, "no opposite transfer deadlocked without retries"
    assert {(r.status, r.error()) for r in failed} == {(503, "retry_later")}
    assert await alice.balance() + await bob.balance() == 2000
