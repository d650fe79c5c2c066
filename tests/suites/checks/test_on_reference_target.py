"""The checkers on REAL histories: concurrent deductions and balance reads against the reference
target, clean and with the faults that break the points guarantees.

Histories are built here straight from engine records (no suite file, no profile), so these tests
prove the checkers, not the suite wiring: a clean target passes every check, each fault fails the
check that guards its guarantee, with the contradicting ops in the evidence.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from monitor.engine import ConcurrentTester, RequestRecord, RequestSpec
from monitor.reference import ReferenceServer
from monitor.suites.checks import CheckContext, run_check
from monitor.suites.results import CheckResult
from monitor.suites.results.history import Op, Outcome

START, AMOUNT, DEDUCTS, MAX_READS = 3000, 300, 13, 500

CHECKS: dict[str, dict[str, Any]] = {
    "expected_outcomes": {
        "kind": "points.deduct",
        "counts": {"ok": {"max": START // AMOUNT}, "insufficient_points": {}},
    },
    "conservation": {
        "value": "state.final.balance",
        "initial": START,
        "effects": {"points.deduct": "-args.amount"},
        "ledger": "state.ledger",
        "ledger_baseline_rows": 1,
        "returns": "value.balance",
    },
    "non_negative": {
        "ops": [
            {"kind": "points.deduct", "value": "value.balance"},
            {"kind": "points.balance", "value": "value.balance"},
        ],
        "state": ["state.final.balance"],
    },
    "snapshot_consistent": {"ledger": "state.ledger"},
}


def to_op(i: int, kind: str, args: dict[str, Any], record: RequestRecord) -> Op:
    """What a profile does for the reference API, reduced to the two operations used here."""
    body = record.json()
    if record.status is None:
        outcome, code = (Outcome.UNKNOWN if record.sent else Outcome.FAILED), "transport"
    elif record.status < 400:
        outcome, code = Outcome.OK, "ok"
    else:
        outcome, code = Outcome.FAILED, str((body or {}).get("error", "error"))
    end = record.start + record.duration_ms / 1000.0
    return Op(
        id=i,
        process="alice",
        kind=kind,
        args=args,
        outcome=outcome,
        code=code,
        value=body if outcome is Outcome.OK else None,
        invoked_at=record.start,
        completed_at=None if outcome is Outcome.UNKNOWN else end,
        status=record.status,
        latency_ms=record.duration_ms,
        error=record.error,
        error_kind=record.error_kind,
    )


async def run_phase(faults: tuple[str, ...]) -> dict[str, CheckResult]:
    async with (
        ReferenceServer(faults=faults) as server,
        ConcurrentTester(server.url, timeout=10.0, keep_body=True) as tester,
    ):
        reg = await tester.send(
            RequestSpec("POST", "/auth/register", json={"username": f"u-{uuid.uuid4().hex[:12]}"})
        )
        auth = {"Authorization": f"Bearer {reg.json()['token']}"}
        fund = RequestSpec("POST", "/points/add", json={"amount": START}, headers=auth)
        assert (await tester.send(fund)).status == 200
        deduct = RequestSpec("POST", "/points/deduct", json={"amount": AMOUNT}, headers=auth)
        read = RequestSpec("GET", "/points/my-points", headers=auth)
        done = asyncio.Event()
        reads: list[RequestRecord] = []

        async def poll() -> None:  # a reader polling while the deductions run
            while not done.is_set() and len(reads) < MAX_READS:
                reads.append(await tester.send(read))

        reader = asyncio.create_task(poll())
        try:
            batch = await tester.run_batch([deduct] * DEDUCTS)
        finally:
            done.set()
            await reader
        ops = [
            to_op(i, "points.deduct", {"amount": AMOUNT}, r) for i, r in enumerate(batch.records)
        ]
        ops += [to_op(DEDUCTS + i, "points.balance", {}, r) for i, r in enumerate(reads)]
        final = await tester.send(RequestSpec("GET", "/points/my-points", headers=auth))
        ledger = await tester.send(
            RequestSpec("GET", "/points/transactions?limit=500", headers=auth)
        )
    state = {"final": final.json(), "ledger": ledger.json()["items"]}
    ctx = CheckContext.build(ops, state=state, duration_s=1.0)
    return {name: run_check(name, ctx, args) for name, args in CHECKS.items()}


async def test_clean_target_passes_every_check() -> None:
    results = await run_phase(())
    assert all(r.passed for r in results.values()), results


@pytest.mark.parametrize(
    ("fault", "guard"),
    [
        ("overdraft", "non_negative"),
        ("overdraft", "expected_outcomes"),
        ("lost-update", "conservation"),
        ("skewed-snapshot", "snapshot_consistent"),
        ("dirty-read", "snapshot_consistent"),
    ],
)
async def test_each_fault_fails_its_guard_with_evidence(fault: str, guard: str) -> None:
    result = (await run_phase((fault,)))[guard]
    assert not result.passed, result
    assert any("op#" in line or "read back" in line for line in result.evidence), result
    if guard == "conservation":  # lost updates are named by the ops that reported one balance
        assert any("lost" in line for line in result.evidence), result.evidence
