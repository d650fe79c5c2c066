"""``--shard I/N``: a deterministic share of the selected scenarios for pod I of N.

Every scenario is keyed ``suite/scenario``; the keys are sorted and dealt round-robin, so the N
shards are disjoint, together cover the whole selection, differ in size by at most one, and a
shard runs the same scenarios every time (whatever the order suites were given in).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.suites.loading.loader import LoadedSuite

_SPEC = re.compile(r"^(\d+)/(\d+)$")


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard ``index`` (from 0) of ``count``."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"1/4"`` → ``Shard(1, 4)``; ``ValueError`` names what is wrong."""
        match = _SPEC.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"--shard must look like I/N (e.g. 0/4), got {text!r}")
        index, count = int(match.group(1)), int(match.group(2))
        if count < 1:
            raise ValueError(f"--shard {text}: N must be at least 1")
        if index >= count:
            raise ValueError(f"--shard {text}: I must be between 0 and {count - 1}")
        return cls(index, count)

    @property
    def label(self) -> str:
        """The ``instance`` grouping label of pushed metrics: ``shard-1-of-4``."""
        return f"shard-{self.index}-of-{self.count}"


def scenario_keys(suites: list[LoadedSuite]) -> list[str]:
    """Every selected scenario as ``suite/scenario``, sorted."""
    return sorted(f"{s.suite.name}/{sc.name}" for s in suites for sc in s.suite.scenarios)


def take_shard(suites: list[LoadedSuite], shard: Shard) -> list[LoadedSuite]:
    """The suites restricted to this shard's scenarios (suites left empty are dropped)."""
    keys = scenario_keys(suites)
    mine = set(keys[shard.index :: shard.count])
    out: list[LoadedSuite] = []
    for loaded in suites:
        kept = [sc for sc in loaded.suite.scenarios if f"{loaded.suite.name}/{sc.name}" in mine]
        if kept:
            suite = loaded.suite.model_copy(update={"scenarios": kept})
            out.append(LoadedSuite(suite, loaded.file, loaded.locations))
    return out
