"""The per-pair transfer gate and If-Match parsing."""

from __future__ import annotations

import asyncio

import pytest

from monitor.reference.api.tasks import parse_if_match
from monitor.reference.ops.gate import KeyedGate


async def test_gate_bounds_holders_per_key_and_forgets_idle_keys() -> None:
    gate = KeyedGate(limit=2)
    running: dict[str, int] = {"ab": 0, "cd": 0}
    peak: dict[str, int] = {"ab": 0, "cd": 0}

    async def work(key: str) -> None:
        async with gate.hold(frozenset(key)):
            running[key] += 1
            peak[key] = max(peak[key], running[key])
            await asyncio.sleep(0.01)
            running[key] -= 1

    await asyncio.gather(*(work("ab") for _ in range(10)), *(work("cd") for _ in range(10)))
    assert peak == {"ab": 2, "cd": 2}  # two at once per key, keys independent
    assert len(gate) == 0


def test_gate_key_is_the_unordered_pair() -> None:
    assert frozenset(("a", "b")) == frozenset(("b", "a"))
    with pytest.raises(ValueError, match="at least 1"):
        KeyedGate(0)


@pytest.mark.parametrize(
    ("header", "versions"),
    [
        (None, None),
        ("*", None),
        ('"3"', {3}),
        ('W/"3"', {3}),
        ("3", {3}),
        ('"3", "5"', {3, 5}),
        ('"abc"', set()),
        ("", set()),
    ],
)
def test_if_match_versions(header: str | None, versions: set[int] | None) -> None:
    parsed = parse_if_match(header)
    assert parsed == (None if versions is None else frozenset(versions))
