"""A time-bounded, size-bounded window of samples (the daemon's rolling memory)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sample:
    """One observation: ``t`` in seconds (any monotonic origin), ``value`` in the series' unit."""

    t: float
    value: float


class RollingWindow:
    """Keeps the samples of the last ``horizon_s`` seconds in at most ``max_samples`` slots.

    Time is cut into ``horizon_s / max_samples`` wide buckets; samples that fall into the same
    bucket are averaged into one. Any rate of samples therefore fits in bounded memory, and the
    window always covers its whole horizon at an even resolution.
    """

    def __init__(self, horizon_s: float, max_samples: int = 4096) -> None:
        if horizon_s <= 0 or max_samples < 4:
            raise ValueError("horizon_s must be > 0 and max_samples >= 4")
        self.horizon_s = horizon_s
        self.max_samples = max_samples
        self._bucket_s = horizon_s / (max_samples - 1)
        self._samples: deque[Sample] = deque()
        self._last_bucket: int | None = None
        self._last_count = 0

    def add(self, t: float, value: float) -> None:
        """Add a sample at time ``t``; forgets samples older than ``t - horizon_s``."""
        bucket = int(t // self._bucket_s)
        if bucket == self._last_bucket and self._samples:
            last = self._samples.pop()
            n = self._last_count
            self._samples.append(Sample(t, (last.value * n + value) / (n + 1)))
            self._last_count = n + 1
        else:
            self._samples.append(Sample(t, value))
            self._last_bucket = bucket
            self._last_count = 1
        cutoff = t - self.horizon_s
        while self._samples and self._samples[0].t < cutoff:
            self._samples.popleft()
        while len(self._samples) > self.max_samples:
            self._samples.popleft()

    def __len__(self) -> int:
        return len(self._samples)

    def __iter__(self) -> Iterator[Sample]:
        return iter(self._samples)

    def span_s(self) -> float:
        """Seconds between the oldest and the newest sample (0 when fewer than two)."""
        if len(self._samples) < 2:
            return 0.0
        return self._samples[-1].t - self._samples[0].t

    def times(self) -> list[float]:
        return [s.t for s in self._samples]

    def values(self) -> list[float]:
        return [s.value for s in self._samples]
