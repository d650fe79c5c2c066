"""Which database failures are worth retrying, and how long to wait between tries (pure)."""

from __future__ import annotations

import random
from dataclasses import dataclass

DEADLOCK = "deadlock"
SERIALIZATION = "serialization"
BUSY = "busy"
CAUSES = (DEADLOCK, SERIALIZATION, BUSY)

_SQLSTATE_CAUSES = {"40P01": DEADLOCK, "40001": SERIALIZATION}


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded, jittered exponential backoff for transient transaction failures."""

    max_attempts: int = 8
    """Tries in total, including the first one (1 = never retry)."""
    base_delay: float = 0.05
    """Seconds before the second try; doubles with every further try."""
    max_delay: float = 2.0
    """Upper bound, in seconds, of any single wait."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < self.base_delay:
            raise ValueError("need 0 <= base_delay <= max_delay")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based): "full jitter", a
        uniform pick below the exponential cap, so that colliding retries spread out."""
        cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return (rng or random).uniform(0, cap)

    def should_retry(self, attempt: int) -> bool:
        """Whether another try may follow failed try number ``attempt``."""
        return attempt < self.max_attempts


NO_RETRY = RetryPolicy(max_attempts=1)


def sqlstate_of(exc: BaseException) -> str | None:
    """The SQLSTATE carried by a DBAPI error (asyncpg: ``.sqlstate``; wrapped in ``.orig``)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = getattr(current, "sqlstate", None) or getattr(current, "pgcode", None)
        if isinstance(code, str):
            return code
        current = getattr(current, "orig", None) or current.__cause__
    return None


def transient_cause(exc: BaseException) -> str | None:
    """``deadlock``, ``serialization`` or ``busy`` when ``exc`` is worth retrying, else None."""
    state = sqlstate_of(exc)
    if state is not None:
        return _SQLSTATE_CAUSES.get(state)
    text = str(exc).lower()
    if "database is locked" in text or "database is busy" in text:
        return BUSY
    return None
