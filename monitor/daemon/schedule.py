"""When does a suite run next? Pure functions of time, tested without sleeping.

A schedule is either an interval (``every: 5m``) or a cron expression (``cron: "*/5 * * * *"``,
evaluated in UTC by croniter), plus optional jitter. Runs of one suite never overlap: a run that
is still going when its next slot comes makes the scheduler skip that slot (counted as a missed
run), like a Kubernetes CronJob with ``concurrencyPolicy: Forbid``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime

from croniter import croniter

from monitor.errors import UsageError


class ScheduleError(UsageError, ValueError):
    """A schedule that cannot be evaluated (bad cron expression, non-positive interval)."""


def _cut(text: str) -> str:
    return text if len(text) <= 60 else text[:59] + "…"


@dataclass(frozen=True, slots=True)
class Schedule:
    """An interval or a cron expression, with up to ``jitter_s`` seconds of random delay."""

    every_s: float | None = None
    cron: str | None = None
    jitter_s: float = 0.0

    def __post_init__(self) -> None:
        if (self.every_s is None) == (self.cron is None):
            raise ScheduleError("a schedule needs exactly one of 'every' and 'cron'")
        if self.every_s is not None and self.every_s <= 0:
            raise ScheduleError(f"'every' must be > 0 seconds, got {self.every_s}")
        if self.cron is not None and not croniter.is_valid(self.cron):
            raise ScheduleError(f"invalid cron expression {_cut(self.cron)!r}")
        if self.cron is not None:
            try:  # valid fields that no date matches (31 February) fail only when asked
                croniter(self.cron, datetime(2026, 1, 1, tzinfo=UTC)).get_next(float)
            except Exception:
                message = f"cron expression {_cut(self.cron)!r} matches no date"
                raise ScheduleError(message) from None
        if self.jitter_s < 0:
            raise ScheduleError("'jitter' must be >= 0")

    def next_slot(self, after: float) -> float:
        """The first slot strictly after ``after`` (epoch seconds), before jitter."""
        if self.every_s is not None:
            return after + self.every_s
        assert self.cron is not None
        start = datetime.fromtimestamp(after, tz=UTC)
        return float(croniter(self.cron, start).get_next(float))


@dataclass(frozen=True, slots=True)
class Decision:
    """What the scheduler should do for one suite at time ``now``."""

    run_now: bool
    next_at: float
    missed: int = 0


def decide(
    schedule: Schedule,
    *,
    now: float,
    due_at: float,
    running: bool,
    rng: random.Random,
) -> Decision:
    """Decide at ``now`` for a suite whose next run was due at ``due_at``.

    - not due yet: wait until ``due_at``;
    - due and not running: run now, and plan the next slot after ``now`` (plus jitter);
    - due but the previous run is still going: skip every slot that has passed (no overlap,
      no catch-up storm) and count them as missed.
    """
    if now < due_at:
        return Decision(False, due_at)
    missed = 0
    slot = schedule.next_slot(due_at)
    while slot <= now:
        missed += 1
        slot = schedule.next_slot(slot)
    jitter = rng.uniform(0, schedule.jitter_s) if schedule.jitter_s else 0.0
    if running:
        return Decision(False, slot + jitter, missed + 1)
    return Decision(True, slot + jitter, missed)


def first_due(schedule: Schedule, *, now: float, rng: random.Random) -> float:
    """When a freshly started daemon first runs a suite: at once for intervals (after jitter),
    at the next matching minute for cron."""
    jitter = rng.uniform(0, schedule.jitter_s) if schedule.jitter_s else 0.0
    if schedule.every_s is not None:
        return now + jitter
    return schedule.next_slot(now) + jitter
