"""``--race-window``: how long a race fault pauses inside its window. The default widens it by
20 ms; 0 leaves the window the code makes (no sleep), which is what ``make stats`` measures."""

from __future__ import annotations

import time

import aiohttp

from tests.plugins.api import register
from tests.plugins.reference import ReferenceFactory

WIDE = 0.4


async def _fastest_add(http: aiohttp.ClientSession, base: str, rounds: int = 3) -> float:
    alice = await register(http, base)
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        await alice.fund(10)
        best = min(best, time.perf_counter() - started)
    assert await alice.balance() == 10 * rounds  # one at a time, nothing is lost
    return best


async def test_a_race_fault_pauses_as_long_as_its_window_says(
    reference_factory: ReferenceFactory, http: aiohttp.ClientSession
) -> None:
    wide = await reference_factory(faults=("lost-update",), race_window=WIDE)
    natural = await reference_factory(faults=("lost-update",), race_window=0)
    assert await _fastest_add(http, wide) >= WIDE
    assert await _fastest_add(http, natural) < WIDE  # no pause at all (a busy machine adds ms)
