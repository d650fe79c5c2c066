"""The envelope example profile drives an API that answers errors with HTTP 200 + codes, uses
guest tokens and other paths — the built-in suites pass against it unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from monitor.engine import ConcurrentTester
from monitor.reference import ReferenceServer
from monitor.suites.loading.loader import load_profile
from monitor.suites.loading.paths import builtin_profiles
from monitor.suites.results.history import Outcome
from monitor.suites.run.call import Session
from monitor.suites.run.client import ProfileClient
from monitor.suites.run.runner import RunOptions, run_suites
from tests.suites.builtin import builtin
from tests.suites.envelope_server import envelope_server

PROFILE = load_profile(builtin_profiles()["envelope-example"]).profile


@pytest.fixture
async def envelope_url() -> AsyncIterator[str]:
    async with ReferenceServer() as reference, envelope_server(reference.url) as url:
        yield url


async def test_guest_registration_codes_and_unknown_commits(envelope_url: str) -> None:
    async with ConcurrentTester(envelope_url, keep_body=True) as tester:
        client = ProfileClient(PROFILE, tester)
        alice = Session("alice")
        registered = await client.call("register", {"username": "ignored"}, alice)
        assert registered.ok
        assert set(alice.values) == {"token", "user_id"}
        assert registered.value == alice.values  # the sequence's result template
        assert len(registered.records) == 2  # guest token, then /me

        refused = await client.call("points.deduct", {"amount": 5}, alice)
        assert refused.status == 200  # HTTP 200 with a non-zero code ...
        assert (refused.outcome, refused.code) == (Outcome.FAILED, "insufficient_points")

        ambiguous = await client.call("points.add", {"amount": 7, "reason": "ambiguous"}, alice)
        assert (ambiguous.outcome, ambiguous.code) == (Outcome.UNKNOWN, "commit_unknown")
        assert ambiguous.completed_at is None
        balance = await client.call("points.balance", {}, alice)
        assert balance.value == {"balance": 7, "transaction_count": 1}  # it was committed

        stranger = await client.call("points.balance", {}, Session("x", {"token": "bad"}))
        assert stranger.code == "unauthorized"


async def test_built_in_scenarios_pass_through_the_envelope_profile(envelope_url: str) -> None:
    suites = [
        builtin("points", "concurrent-points-deduction", "balance-query-during-updates"),
        builtin("top3", "concurrent-top3-same-date", "top3-query-during-creation"),
        builtin("rewards", "concurrent-welcome-gift"),
        builtin("isolation", "optimistic-locking", "deadlock-recovery"),
        builtin("load", "sustained-load"),
    ]
    run = await run_suites(
        envelope_url, PROFILE, suites, RunOptions(seed=7, overrides={"sustained_s": 4})
    )
    status = {s.name: s.status for s in run.scenarios}
    failed = [(c.name, c.observed) for s in run.scenarios for c in s.failed_checks]
    assert failed == []
    assert status == {
        "concurrent-points-deduction": "passed",
        "balance-query-during-updates": "passed",
        "concurrent-top3-same-date": "passed",
        "top3-query-during-creation": "passed",
        "concurrent-welcome-gift": "passed",
        "optimistic-locking": "passed",
        "deadlock-recovery": "skipped",
        "sustained-load": "passed",
    }
    skipped = {s.name: s.skip_reason for s in run.scenarios if s.status == "skipped"}
    assert skipped["deadlock-recovery"] == (
        "profile 'envelope-example' does not provide operation points.transfer"
    )
    # no /metrics: the load still runs; the memory and pool checks are not applicable
    (load,) = [s for s in run.scenarios if s.name == "sustained-load"]
    na = {c.name: c.message for c in load.not_applicable_checks}
    assert na == {
        "resident memory does not grow unboundedly": (
            "profile 'envelope-example' does not provide target metric rss_bytes"
        ),
        "database pool not exhausted (no waiters, connections returned)": (
            "profile 'envelope-example' does not provide target metric db_pool_in_use, "
            "target metric db_pool_size, target metric db_pool_waiting"
        ),
    }
    assert run.passed  # skipped scenarios do not fail the run ...
    assert not all(s.passed for s in run.scenarios)  # ... but they are not passes either


async def test_sequence_operations_fire_together_in_a_phase() -> None:
    """A phase of sequence operations starts them all at once and reports each as one op."""
    raw = load_profile(builtin_profiles()["reference"]).profile.model_dump(exclude_defaults=True)
    raw["operations"]["points.add.once"] = raw["operations"]["points.add"]
    raw["operations"]["points.add"] = {
        "steps": [
            {"op": "points.add.once", "args": {"amount": "{amount}"}, "save": "first"},
            {"op": "points.add.once", "args": {"amount": "{amount}"}},
        ],
        "result": {"balance_after_first": "${steps.first.balance}"},
    }
    profile = type(PROFILE).model_validate(raw)
    async with ReferenceServer() as server, ConcurrentTester(server.url, keep_body=True) as tester:
        client = ProfileClient(profile, tester)
        alice = Session("alice")
        assert (await client.call("register", {"username": "seq-alice"}, alice)).ok
        assert not client.is_single_request("points.add")
        calls = await client.fire([("points.add", {"amount": 10}, alice)] * 4)
        assert [c.outcome for c in calls] == [Outcome.OK] * 4
        assert all(len(c.records) == 2 for c in calls)
        assert all(c.value["balance_after_first"] % 10 == 0 for c in calls)
        # all four sequences overlapped: each started before any of them finished
        assert max(c.invoked_at for c in calls) < min(c.completed_at or 0 for c in calls)
        balance = await client.call("points.balance", {}, alice)
        assert balance.value == {"balance": 80, "transaction_count": 8}
