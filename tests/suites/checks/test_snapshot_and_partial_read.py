"""snapshot_consistent and no_partial_read: what readers may see while writers run."""

from __future__ import annotations

from typing import Any

from tests.suites.checks.builders import Ops, mentions

# committed order: +3000 (setup), then -300, -300, +100
LEDGER = [{"amount": 100}, {"amount": -300}, {"amount": -300}, {"amount": 3000}]  # newest first


def reads(*pairs: tuple[int, int]) -> Ops:
    ops = Ops()
    ops.many(2, "points.deduct", args={"amount": 300})
    ops.add("points.add", args={"amount": 100})
    for balance, count in pairs:
        ops.add("points.balance", value={"balance": balance, "transaction_count": count})
    return ops


def test_consistent_snapshots_pass() -> None:
    ops = reads((3000, 1), (2700, 2), (2400, 3), (2500, 4))
    r = ops.check("snapshot_consistent", {"ledger": LEDGER}, ledger="state.ledger")
    assert r.passed, r
    assert r.observed == "4 reads, 0 inconsistent reads"


def test_skewed_snapshot_fails() -> None:
    # skewed-snapshot: balance read in one transaction, the count in the next one
    ops = reads((2700, 1), (2400, 3))
    r = ops.check("snapshot_consistent", {"ledger": LEDGER}, ledger="state.ledger")
    assert not r.passed
    assert mentions(r, ops.ops[3])
    assert not mentions(r, ops.ops[4])
    assert "first 1 ledger entries sum to 3000" in r.evidence[0]


def test_dirty_read_is_reported_as_never_committed() -> None:
    # dirty-read: a deduct that later rolled back was visible (2100 never existed)
    ops = reads((2100, 3))
    r = ops.check("snapshot_consistent", {"ledger": LEDGER}, ledger="state.ledger")
    assert not r.passed
    assert "never committed" in r.evidence[0]


def test_count_beyond_the_ledger_fails() -> None:
    r = reads((2500, 7)).check("snapshot_consistent", {"ledger": LEDGER}, ledger="state.ledger")
    assert not r.passed
    assert "the ledger has 4 rows" in r.evidence[0]


def test_order_any_accepts_any_rows_with_that_sum() -> None:
    # commit order and ledger order may differ (e.g. created_at taken before the lock): with
    # order "any", 3 rows {3000, -300, +100} summing to 2800 are enough
    ops = reads((2800, 3))
    assert not ops.check("snapshot_consistent", {"ledger": LEDGER}, ledger="state.ledger").passed
    r = ops.check("snapshot_consistent", {"ledger": LEDGER}, ledger="state.ledger", order="any")
    assert r.passed, r


TOP3 = {
    "kind": "top3.get",
    "value": "value.task_ids",
    "before": [],
    "writes": "top3.set",
    "after": "args.task_ids",
}


def top3(*seen: list[str], writer: str = "ok") -> Ops:
    ops = Ops()
    ops.add("top3.set", args={"date": "2025-01-01", "task_ids": ["a", "b", "c"]}, outcome=writer)
    for ids in seen:
        ops.add("top3.get", args={"date": "2025-01-01"}, value={"task_ids": ids})
    return ops


def test_top3_reads_see_nothing_or_everything() -> None:
    r = top3([], ["c", "a", "b"], []).check("no_partial_read", **TOP3)
    assert r.passed, r
    assert r.observed == "3 reads: 2 before, 1 after, 0 partial"


def test_partial_top3_fails_with_the_partial_read() -> None:
    ops = top3([], ["a"], ["a", "b", "c"])  # partial-top3: rows committed one by one
    r = ops.check("no_partial_read", **TOP3)
    assert not r.passed
    assert mentions(r, ops.ops[2])
    assert 'saw ["a"]' in r.evidence[0]


def test_unknown_writer_can_explain_a_complete_read() -> None:
    assert top3([], ["a", "b", "c"], writer="unknown").check("no_partial_read", **TOP3).passed
    # a failed writer wrote nothing: seeing its task ids is a violation
    assert not top3(["a", "b", "c"], writer="failed").check("no_partial_read", **TOP3).passed


GRANT: dict[str, Any] = {
    "kind": "rewards.list",
    "value": 'value.items.filter(i, i.reward == "time_freeze").map(i, i.quantity)[0]',
    "before": "state.before.time_freeze",
    "writes": "rewards.grant",
    "after": "args.quantity",
    "mode": "add",
}


def grants(*seen: int, unknown: int = 0) -> Ops:
    ops = Ops()
    ops.add("rewards.grant", args={"reward": "time_freeze", "quantity": 5})
    ops.add("rewards.grant", args={"reward": "time_freeze", "quantity": 3})
    ops.many(
        unknown, "rewards.grant", args={"reward": "time_freeze", "quantity": 10}, outcome="unknown"
    )
    for q in seen:
        ops.add("rewards.list", value={"items": [{"reward": "time_freeze", "quantity": q}]})
    return ops


def test_grant_reads_see_whole_grants() -> None:
    state = {"before": {"time_freeze": 1}}
    assert grants(1, 6, 4, 9).check("no_partial_read", state, **GRANT).passed


def test_partial_grant_fails() -> None:
    state = {"before": {"time_freeze": 1}}
    ops = grants(1, 3, 9)  # partial-grant: +1 commits, a reader saw 2 of 5
    r = ops.check("no_partial_read", state, **GRANT)
    assert not r.passed
    assert mentions(r, ops.ops[3])
    assert "1 + any subset of 2 writes (5, 3)" in r.expected


def test_unknown_grant_explains_or_not() -> None:
    state = {"before": {"time_freeze": 1}}
    assert grants(11, 19, unknown=1).check("no_partial_read", state, **GRANT).passed
    assert not grants(12, unknown=1).check("no_partial_read", state, **GRANT).passed


def test_unknown_ops_do_not_confuse_snapshots() -> None:
    ops = reads((2500, 4))
    ops.add("points.deduct", args={"amount": 300}, outcome="unknown")  # did not take effect
    ops.add("points.balance", outcome="unknown")  # a read that never answered reads nothing
    assert ops.check("snapshot_consistent", {"ledger": LEDGER}, ledger="state.ledger").passed
    took_effect = [{"amount": -300}, *LEDGER]  # ... or it did: the ledger shows it
    ops.add("points.balance", value={"balance": 2200, "transaction_count": 5})
    assert ops.check("snapshot_consistent", {"ledger": took_effect}, ledger="state.ledger").passed
    r = ops.check("snapshot_consistent", {"ledger": LEDGER}, ledger="state.ledger")
    assert not r.passed  # a 5th transaction that the ledger does not have
    assert "the ledger has 4 rows" in r.evidence[0]


def test_where_selects_one_users_reads() -> None:
    ops = reads((2500, 4))
    ops.add("points.balance", user="bob", value={"balance": 7, "transaction_count": 1})
    args = {"ledger": "state.ledger"}
    assert not ops.check("snapshot_consistent", {"ledger": LEDGER}, **args).passed
    r = ops.check("snapshot_consistent", {"ledger": LEDGER}, **args, where='user == "alice"')
    assert r.passed, r


def test_match_compares_reads_with_the_writes_of_their_date() -> None:
    ops = Ops()
    ops.add("top3.set", args={"date": "D1", "task_ids": ["a", "b", "c"]})
    ops.add("top3.set", args={"date": "D2", "task_ids": ["x", "y", "z"]})
    ops.add("top3.get", args={"date": "D1"}, value={"task_ids": ["a", "b", "c"]})
    wrong = ops.add("top3.get", args={"date": "D2"}, value={"task_ids": ["a", "b", "c"]})
    assert ops.check("no_partial_read", **TOP3).passed  # without match: any write's after
    r = ops.check("no_partial_read", **TOP3, match="args.date")
    assert not r.passed  # D2's reader saw D1's tasks
    assert mentions(r, wrong)
    assert r.expected.endswith("(for its args.date)")
