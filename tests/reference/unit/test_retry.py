"""The retry policy (pure) and the classification of real database failures."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from monitor.reference.retry import (
    BUSY,
    DEADLOCK,
    NO_RETRY,
    SERIALIZATION,
    RetryPolicy,
    sqlstate_of,
    transient_cause,
)


def test_delays_grow_exponentially_up_to_the_cap_and_are_jittered() -> None:
    policy = RetryPolicy(max_attempts=8, base_delay=0.05, max_delay=2.0)
    rng = random.Random(7)
    for attempt in range(1, 12):
        cap = min(2.0, 0.05 * 2 ** (attempt - 1))
        samples = [policy.delay(attempt, rng) for _ in range(200)]
        assert all(0 <= s <= cap for s in samples)
        assert max(samples) > cap * 0.8  # spread over the whole window (full jitter) ...
        assert min(samples) < cap * 0.2
        assert len(set(samples)) > 150  # ... not one fixed value per attempt


def test_attempts_are_bounded() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert [policy.should_retry(a) for a in (1, 2, 3, 4)] == [True, True, False, False]
    assert not NO_RETRY.should_retry(1)
    assert RetryPolicy().max_attempts == 8


@pytest.mark.parametrize(
    "kwargs", [{"max_attempts": 0}, {"base_delay": -1.0}, {"base_delay": 1.0, "max_delay": 0.5}]
)
def test_nonsense_policies_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"must|need"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


class _DriverError(Exception):
    """The shape of an asyncpg error: a ``sqlstate`` attribute."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


class _Wrapped(Exception):
    """The shape of a SQLAlchemy DBAPIError: the driver error in ``orig``."""

    def __init__(self, orig: BaseException) -> None:
        super().__init__(str(orig))
        self.orig = orig


@pytest.mark.parametrize(
    ("state", "cause"),
    [("40P01", DEADLOCK), ("40001", SERIALIZATION), ("23505", None), ("42P01", None)],
)
def test_sqlstates_map_to_retry_causes(state: str, cause: str | None) -> None:
    assert transient_cause(_Wrapped(_DriverError(state))) == cause
    assert sqlstate_of(_Wrapped(_DriverError(state))) == state


def test_a_real_sqlite_lock_timeout_is_a_busy_retry(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError) as caught:
            other.execute("BEGIN IMMEDIATE")
        assert transient_cause(caught.value) == BUSY
        assert transient_cause(sqlite3.OperationalError("no such table: x")) is None
    finally:
        holder.close()
        other.close()
