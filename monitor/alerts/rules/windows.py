"""Every duration the rules use (``Windows``, scaled down for tests), the SRE workbook's
burn-rate table and the two request SLOs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace


def _fmt(seconds: float) -> str:
    """A Prometheus duration: ``3600`` -> ``1h``, ``36`` -> ``36s``, ``0.5`` -> ``500ms``."""
    ms = round(seconds * 1000)
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms >= size and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{max(ms, 1)}ms"


@dataclass(frozen=True)
class Windows:
    """Every duration the rules use, in seconds, by nominal name."""

    ranges: dict[str, float] = field(
        default_factory=lambda: {
            "5m": 300, "30m": 1800, "1h": 3600, "2h": 7200, "6h": 21600, "1d": 86400,
            "3d": 259200,
        }
    )  # fmt: skip
    #: ``for`` durations and staleness limits, by role.
    waits: dict[str, float] = field(
        default_factory=lambda: {
            "page": 120, "ticket": 900, "invariant": 0, "run": 0, "missed": 0,
            "absent": 300, "probe": 600, "down": 60, "overdue": 900, "verdict": 300,
        }
    )  # fmt: skip
    #: a burn-rate alert needs at least this many soak requests in its long window.
    min_requests: int = 100

    def scaled(self, factor: float, *, min_requests: int | None = None) -> Windows:
        """Every range and wait multiplied by ``factor`` (the test variant)."""
        return replace(
            self,
            ranges={k: v * factor for k, v in self.ranges.items()},
            waits={k: v * factor for k, v in self.waits.items()},
            min_requests=self.min_requests if min_requests is None else min_requests,
        )

    def r(self, name: str) -> str:
        return _fmt(self.ranges[name])

    def wait(self, role: str) -> str:
        return _fmt(self.waits[role])


#: (severity, long window, short window, burn-rate factor): SRE workbook, chapter 5, table 5-8.
BURNS = (
    ("page", "1h", "5m", 14.4),
    ("page", "6h", "30m", 6.0),
    ("ticket", "1d", "2h", 3.0),
    ("ticket", "3d", "6h", 1.0),
)


@dataclass(frozen=True)
class Slo:
    """The two request SLOs."""

    error_budget: float = 0.05
    """Share of soak requests allowed to fail."""
    latency_le: str = "0.5"
    """Histogram bucket bound of the latency SLO (seconds)."""
    latency_budget: float = 0.05
    """Share of soak requests allowed to be slower than the bound (P95 < bound)."""
