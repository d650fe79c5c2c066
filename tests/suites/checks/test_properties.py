"""Property-based: no false alarm for any subset of unknown ops; a real violation is caught."""

from __future__ import annotations

from itertools import combinations, product

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.suites.checks.builders import Ops

# (amount, outcome, took effect if unknown)
op_strategy = st.tuples(
    st.integers(-500, 500).filter(bool),
    st.sampled_from(["ok", "ok", "failed", "unknown"]),
    st.booleans(),
)


def build(plan: list[tuple[int, str, bool]]) -> tuple[Ops, list[int]]:
    """The history and the effects that really happened (in commit order)."""
    ops = Ops()
    applied: list[int] = []
    for amount, outcome, took in plan:
        ops.add(
            "points.add",
            args={"amount": amount},
            outcome=outcome,
            code="ok" if outcome == "ok" else ("rejected" if outcome == "failed" else None),
        )
        if outcome == "ok" or (outcome == "unknown" and took):
            applied.append(amount)
    return ops, applied


ARGS = {
    "value": "state.final",
    "initial": 1000,
    "effects": {"points.add": "args.amount"},
    "ledger": "state.ledger",
    "ledger_baseline_rows": 1,
}


@settings(max_examples=200, deadline=None)
@given(plan=st.lists(op_strategy, max_size=12))
def test_conservation_never_raises_a_false_alarm(plan: list[tuple[int, str, bool]]) -> None:
    ops, applied = build(plan)
    ledger = [{"amount": a} for a in reversed([1000, *applied])]
    state = {"final": 1000 + sum(applied), "ledger": ledger}
    r = ops.check("conservation", state, **ARGS)
    assert r.passed, r


@settings(max_examples=200, deadline=None)
@given(plan=st.lists(op_strategy, max_size=10), delta=st.integers(-700, 700).filter(bool))
def test_conservation_catches_a_lost_or_phantom_update(
    plan: list[tuple[int, str, bool]], delta: int
) -> None:
    ops, _ = build(plan)
    ok_sum = sum(a for a, outcome, _ in plan if outcome == "ok")
    unknown = [a for a, outcome, _ in plan if outcome == "unknown"]
    final = 1000 + ok_sum + delta  # the balance is off by delta from the ok effects
    explainable = any(
        sum(c) == delta for k in range(len(unknown) + 1) for c in combinations(unknown, k)
    )
    r = ops.check(
        "conservation",
        {"final": final},
        value="state.final",
        initial=1000,
        effects={"points.add": "args.amount"},
    )
    assert r.passed == explainable, r


@settings(max_examples=200, deadline=None)
@given(
    outcomes=st.lists(st.sampled_from(["ok", "failed", "unknown"]), min_size=1, max_size=8),
    took=st.lists(st.booleans(), min_size=8, max_size=8),
    extra=st.integers(0, 2),
)
def test_exactly_once_per_op(outcomes: list[str], took: list[bool], extra: int) -> None:
    ops = Ops()
    effects = 0
    for i, outcome in enumerate(outcomes):
        ops.add(
            "gift.claim",
            user=f"u{i}",
            outcome=outcome,
            code="already_claimed" if outcome == "failed" else None,
        )
        effects += outcome == "ok" or (outcome == "unknown" and took[i])
    args = {"kind": "gift.claim", "key": "user", "observed": "state.rows"}
    assert ops.check("exactly_once", {"rows": [{}] * effects}, **args).passed
    too_many = effects + extra
    possible = outcomes.count("ok") + outcomes.count("unknown")
    r = ops.check("exactly_once", {"rows": [{}] * too_many}, **args)
    assert r.passed == (too_many <= possible)


CODES = ["ok", "already_claimed", "server_error"]


@settings(max_examples=300, deadline=None)
@given(
    known=st.lists(st.sampled_from(CODES), max_size=6),
    unknown=st.integers(0, 3),
    bounds=st.dictionaries(
        st.sampled_from(CODES[:2]),
        st.tuples(st.integers(0, 4), st.none() | st.integers(0, 4)).filter(
            lambda b: b[1] is None or b[0] <= b[1]
        ),
        min_size=1,
    ),
    exact=st.booleans(),
)
def test_expected_outcomes_matches_brute_force(
    known: list[str], unknown: int, bounds: dict[str, tuple[int, int | None]], exact: bool
) -> None:
    assume(known or unknown)  # no ops at all is "nothing to check", a failure by design
    ops = Ops()
    for code in known:
        ops.add("gift.claim", outcome="ok" if code == "ok" else "failed", code=code)
    ops.many(unknown, "gift.claim", outcome="unknown")
    counts = {c: {"min": lo, "max": hi} for c, (lo, hi) in bounds.items()}

    def fits(codes: list[str]) -> bool:
        if exact and any(c not in bounds for c in codes):
            return False
        return all(
            lo <= codes.count(c) and (hi is None or codes.count(c) <= hi)
            for c, (lo, hi) in bounds.items()
        )

    # each unknown op may have ended with any code (an unexpected one only when not exact)
    choices = [*bounds, "other"]
    feasible = any(fits(known + list(extra)) for extra in product(choices, repeat=unknown))
    r = ops.check("expected_outcomes", kind="gift.claim", counts=counts, exact=exact)
    assert r.passed == feasible, (r, known, unknown, bounds, exact)


@settings(max_examples=300, deadline=None)
@given(
    spans=st.lists(
        st.tuples(st.integers(0, 50), st.integers(1, 20), st.integers(0, 100)),
        min_size=1,
        max_size=10,
    )
)
def test_realtime_order_matches_all_pairs(spans: list[tuple[int, int, int]]) -> None:
    ops = Ops()
    for start, length, stamp in spans:
        ops.add("tasks.complete", value={"completed_at": stamp}, at=start / 10, ms=length * 100)
    inversions = [
        (a, b)
        for a in ops.ops
        for b in ops.ops
        if a.completed_at is not None
        and a.completed_at < b.invoked_at
        and a.value["completed_at"] > b.value["completed_at"]
    ]
    r = ops.check("realtime_order", kind="tasks.complete")
    assert r.passed == (not inversions), (r, inversions)
