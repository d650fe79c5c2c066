"""Which pods a pod-kill deletes: pure logic, no API calls.

``count`` or ``percent`` of the live pods matching the selector are picked at random, never
the monitor's own pod, and only while the ``maxUnavailable`` budget holds: the pods already
unavailable (not ready, or being deleted) plus the ready pods about to be killed may not exceed
it, counted like a PodDisruptionBudget (an integer, or a percentage of the matching pods,
rounded up as Kubernetes rounds ``maxUnavailable``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.chaos.errors import ChaosError
from monitor.chaos.kube.api import PodState

_LIVE_PHASES = {"Pending", "Running", "Unknown"}


class NoVictims(ChaosError):
    """Nothing may be killed; the message says why (no pods, the budget, only the monitor)."""


@dataclass(frozen=True, slots=True)
class Budget:
    """``maxUnavailable`` as given: an integer, or a percentage of the matching pods."""

    value: int
    percent: bool = False

    @classmethod
    def parse(cls, raw: int | str) -> Budget:
        if isinstance(raw, int) and not isinstance(raw, bool):
            if raw < 0:
                raise ValueError("must be 0 or more")
            return cls(raw)
        text = str(raw).strip()
        if text.endswith("%"):
            number = text[:-1].strip()
            if number.isdigit() and 0 <= int(number) <= 100:
                return cls(int(number), percent=True)
        elif text.isdigit():
            return cls(int(text))
        raise ValueError(f"{raw!r} is neither a number of pods nor a percentage like '25%'")

    def pods(self, total: int) -> int:
        """How many of ``total`` pods may be unavailable at once."""
        return math.ceil(total * self.value / 100) if self.percent else self.value

    def __str__(self) -> str:
        return f"{self.value}%" if self.percent else str(self.value)


@dataclass(frozen=True, slots=True)
class Pick:
    victims: tuple[str, ...]
    matching: int
    """Pods matching the selector (not counting those being deleted)."""
    ready: int
    unavailable_before: int


def wanted(count: int | None, percent: float | None, candidates: int) -> int:
    """Pods to kill: ``count``, or ``percent`` of the candidates rounded down but at least one
    (Chaos Mesh's ``fixed-percent``, which never makes a non-zero percentage a no-op)."""
    if count is not None:
        return min(count, candidates)
    assert percent is not None
    if percent <= 0 or candidates == 0:
        return 0
    return min(candidates, max(1, math.floor(candidates * percent / 100)))


def pick_victims(
    pods: Sequence[PodState],
    *,
    count: int | None,
    percent: float | None,
    max_unavailable: Budget,
    own_pod: str | None,
    rng: random.Random,
    where: str,
) -> Pick:
    """The pods to delete, or :class:`NoVictims` saying why none may be."""
    live = [p for p in pods if not p.deleting and p.phase in _LIVE_PHASES]
    deleting = sum(1 for p in pods if p.deleting)
    if not live:
        raise NoVictims(f"no live pods match {where}")
    candidates = [p for p in live if p.name != own_pod]
    if not candidates:
        raise NoVictims(f"the only pod matching {where} is the monitor's own ({own_pod})")
    n = wanted(count, percent, len(candidates))
    if n == 0:
        raise NoVictims(f"{percent}% of {len(candidates)} pod(s) matching {where} is none")
    ready = sum(1 for p in live if p.ready)
    unavailable = (len(live) - ready) + deleting
    limit = max_unavailable.pods(len(live) + deleting)
    # Not-ready pods are killed first: they cost no availability.
    rng.shuffle(candidates)
    candidates.sort(key=lambda p: p.ready)
    victims = candidates[:n]
    would_be = unavailable + sum(1 for p in victims if p.ready)
    if would_be > limit:
        raise NoVictims(
            f"killing {n} of {len(live)} pod(s) matching {where} would leave {would_be} "
            f"unavailable ({unavailable} already: not ready or terminating), more than "
            f"max_unavailable {max_unavailable} ({limit} pod(s))"
        )
    return Pick(
        victims=tuple(p.name for p in victims),
        matching=len(live),
        ready=ready,
        unavailable_before=unavailable,
    )
