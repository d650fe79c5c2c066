"""Rounds: a closed-model load in which the ``vus`` virtual users send in lockstep, each round
one synchronised batch of ``vus`` requests (the shape of a race probe under load), until the
duration is up or :meth:`Rounds.stop` is called."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from time import monotonic
from typing import Any

from monitor.engine.result import ConcurrentResult
from monitor.engine.spec import RequestSpec
from monitor.engine.sync.delivery import PhaseDelivery, SyncMode, spread_summary
from monitor.engine.tester import ConcurrentTester


@dataclass(slots=True)
class RoundsOutcome:
    """Every request of every round, and how each round was delivered."""

    result: ConcurrentResult
    deliveries: list[PhaseDelivery] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def rounds(self) -> int:
        return len(self.deliveries)

    def to_dict(self) -> dict[str, Any]:
        """The ``delivery`` object of ``soakmon load --json``."""
        modes = sorted({d.sync for d in self.deliveries})
        notes = sorted({d.note for d in self.deliveries if d.note})
        return {
            "rounds": self.rounds,
            "sync": modes[0] if len(modes) == 1 else modes,
            "requests_per_round": self.deliveries[0].requests if self.deliveries else 0,
            "send_spread_s": spread_summary(d.send_spread_s for d in self.deliveries),
            "arrival_spread_s": spread_summary(d.arrival_spread_s for d in self.deliveries),
            "notes": notes,
        }


class Rounds:
    """Send ``spec`` as ``vus`` synchronised requests per round, back to back."""

    def __init__(
        self,
        tester: ConcurrentTester,
        spec: RequestSpec,
        vus: int,
        duration_s: float,
        sync: SyncMode | str,
        *,
        max_rounds: int | None = None,
        sample_limit: int = 1000,
        on_round: Callable[[int, PhaseDelivery | None], None] | None = None,
    ) -> None:
        if vus < 1:
            raise ValueError(f"rounds need at least one VU, got {vus}")
        self.tester, self.spec, self.vus = tester, spec, vus
        self.duration_s, self.sync, self.max_rounds = duration_s, SyncMode.parse(sync), max_rounds
        self._sample_limit, self._on_round = sample_limit, on_round
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """End after the round in flight."""
        self._stop.set()

    async def run(self) -> RoundsOutcome:
        outcome = RoundsOutcome(ConcurrentResult(sample_limit=self._sample_limit))
        started = monotonic()
        deadline = started + self.duration_s
        while not self._stop.is_set() and monotonic() < deadline:
            if self.max_rounds is not None and outcome.rounds >= self.max_rounds:
                break
            batch = await self.tester.run_batch([self.spec] * self.vus, self.sync)
            outcome.result.absorb(batch)
            if batch.delivery is not None:
                outcome.deliveries.append(batch.delivery)
            if self._on_round is not None:
                self._on_round(outcome.rounds, batch.delivery)
        outcome.duration_s = monotonic() - started
        return outcome
