"""Schedules are pure functions of time: checked with fake clocks, no sleeping."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from monitor.daemon.schedule import Schedule, ScheduleError, decide, first_due


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_interval_runs_at_once_then_every_period() -> None:
    rng = random.Random(0)
    s = Schedule(every_s=60)
    due = first_due(s, now=1000.0, rng=rng)
    assert due == 1000.0
    d = decide(s, now=1000.0, due_at=due, running=False, rng=rng)
    assert d.run_now
    assert d.next_at == 1060.0
    assert not decide(s, now=1059.9, due_at=d.next_at, running=False, rng=rng).run_now


def test_cron_slots_follow_the_expression_in_utc() -> None:
    s = Schedule(cron="*/15 * * * *")
    assert s.next_slot(_ts("2026-11-24T10:07:00")) == _ts("2026-11-24T10:15:00")
    rng = random.Random(0)
    assert first_due(s, now=_ts("2026-11-24T10:59:59"), rng=rng) == _ts("2026-11-24T11:00:00")


def test_a_run_that_overruns_its_slots_is_not_overlapped_and_missed_slots_are_counted() -> None:
    rng = random.Random(0)
    s = Schedule(every_s=60)
    # Due at 1060, but the run started at 1000 is still going at 1190: skip, do not pile up.
    d = decide(s, now=1190.0, due_at=1060.0, running=True, rng=rng)
    assert not d.run_now
    assert d.missed == 3  # the slots 1060, 1120 and 1180 passed
    assert d.next_at == 1240.0
    # Once it finished, a late tick runs once and re-aligns instead of catching up.
    d2 = decide(s, now=1250.0, due_at=d.next_at, running=False, rng=rng)
    assert d2.run_now
    assert d2.missed == 0
    assert d2.next_at == 1300.0


def test_jitter_delays_within_its_bound_and_is_reproducible_with_a_seed() -> None:
    s = Schedule(every_s=60, jitter_s=10)
    picks = [
        decide(s, now=0.0, due_at=0.0, running=False, rng=random.Random(seed)).next_at
        for seed in range(50)
    ]
    assert all(60.0 <= p <= 70.0 for p in picks)
    assert len(set(picks)) > 40
    again = decide(s, now=0.0, due_at=0.0, running=False, rng=random.Random(7)).next_at
    assert again == picks[7]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one"),
        ({"every_s": 5, "cron": "* * * * *"}, "exactly one"),
        ({"every_s": 0}, "must be > 0"),
        ({"cron": "61 * * * *"}, "invalid cron"),
        ({"every_s": 5, "jitter_s": -1}, "jitter"),
    ],
)
def test_bad_schedules_are_rejected_with_the_reason(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ScheduleError, match=message):
        Schedule(**kwargs)  # type: ignore[arg-type]
