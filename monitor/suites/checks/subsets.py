"""Which UNKNOWN ops could have taken effect? Subset-sum with an optional subset size.

Exact dynamic programming over reachable (size, sum) states with a witness for each; when the
state space grows past ``limit`` it falls back to a sound bound (the target lies between the
smallest and largest reachable sums), so a checker never raises a false alarm on a large history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Generic, TypeVar

T = TypeVar("T")
Number = int | float

DEFAULT_LIMIT = 200_000


@dataclass(frozen=True, slots=True)
class Explanation(Generic[T]):
    """Whether a subset explains the target; ``subset`` is a witness when ``exact``."""

    found: bool
    subset: list[T] = field(default_factory=list)
    exact: bool = True


def _key(x: Number) -> Fraction:
    return Fraction(x).limit_denominator(10**9) if isinstance(x, float) else Fraction(x)


def explain(
    target: Number,
    items: Sequence[tuple[T, Number]],
    *,
    size: int | None = None,
    limit: int | None = None,
) -> Explanation[T]:
    """A subset of ``items`` (each ``(tag, amount)``) whose amounts sum to ``target`` and, when
    ``size`` is given, that has exactly ``size`` members."""
    limit = DEFAULT_LIMIT if limit is None else limit
    goal = _key(target)
    if size is not None and not 0 <= size <= len(items):
        return Explanation(False)
    # state (count, sum) -> (previous state, index of the item added); count is only tracked
    # when a size is required
    start: tuple[int, Fraction] = (0, Fraction(0))
    parent: dict[tuple[int, Fraction], tuple[tuple[int, Fraction], int] | None] = {start: None}
    for index, (_, amount) in enumerate(items):
        step = _key(amount)
        for state in list(parent):
            count = state[0] + 1 if size is not None else 0
            if size is not None and count > size:
                continue
            nxt = (count, state[1] + step)
            if nxt not in parent:
                parent[nxt] = (state, index)
        if len(parent) > limit:
            return Explanation(_bounded(goal, [_key(a) for _, a in items], size), exact=False)
    final = (size if size is not None else 0, goal)
    if final not in parent:
        return Explanation(False)
    chosen: list[T] = []
    node = parent[final]
    while node is not None:
        prev, index = node
        chosen.append(items[index][0])
        node = parent[prev]
    chosen.reverse()
    return Explanation(True, chosen)


def _bounded(goal: Fraction, amounts: list[Fraction], size: int | None) -> bool:
    ordered = sorted(amounts)
    if size is None:
        low = sum((a for a in ordered if a < 0), Fraction(0))
        high = sum((a for a in ordered if a > 0), Fraction(0))
    else:
        low = sum(ordered[:size], Fraction(0))
        high = sum(ordered[len(ordered) - size :], Fraction(0)) if size else Fraction(0)
    return low <= goal <= high


def subset_sums(amounts: Sequence[Number], *, limit: int | None = None) -> set[Fraction] | None:
    """Every sum of a subset of ``amounts`` (None when there are more than ``limit``)."""
    limit = DEFAULT_LIMIT if limit is None else limit
    sums = {Fraction(0)}
    for amount in amounts:
        step = _key(amount)
        sums |= {s + step for s in sums}
        if len(sums) > limit:
            return None
    return sums
