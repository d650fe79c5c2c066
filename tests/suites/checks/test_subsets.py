"""Subset-sum explanations agree with brute force (property-based)."""

from __future__ import annotations

from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.suites.checks.subsets import explain, subset_sums

amounts = st.lists(st.integers(min_value=-500, max_value=500), max_size=9)


def brute(target: int, values: list[int], size: int | None) -> bool:
    sizes = range(len(values) + 1) if size is None else [size]
    return any(sum(c) == target for k in sizes for c in combinations(values, k))


@settings(max_examples=300, deadline=None)
@given(values=amounts, target=st.integers(-2000, 2000), size=st.none() | st.integers(0, 9))
def test_explain_matches_brute_force(values: list[int], target: int, size: int | None) -> None:
    items = list(enumerate(values))
    found = explain(target, items, size=size)
    assert found.found == brute(target, values, size)
    if found.found:
        assert sum(values[i] for i in found.subset) == target
        assert len(set(found.subset)) == len(found.subset)
        if size is not None:
            assert len(found.subset) == size


@settings(max_examples=100, deadline=None)
@given(values=amounts)
def test_subset_sums_are_all_reachable_sums(values: list[int]) -> None:
    sums = subset_sums(values)
    assert sums is not None
    assert sums == {sum(c) for k in range(len(values) + 1) for c in combinations(values, k)}


@given(values=st.lists(st.integers(1, 10**6), min_size=1, max_size=30), data=st.data())
@settings(max_examples=50, deadline=None)
def test_bounded_mode_never_rejects_a_reachable_sum(values: list[int], data: st.DataObject) -> None:
    chosen = data.draw(st.lists(st.sampled_from(range(len(values))), unique=True))
    target = sum(values[i] for i in chosen)
    assert explain(target, list(enumerate(values)), limit=50).found
    assert explain(target, list(enumerate(values)), size=len(chosen), limit=50).found


def test_floats_are_compared_exactly_enough() -> None:
    assert explain(0.3, [("a", 0.1), ("b", 0.2)]).subset == ["a", "b"]
