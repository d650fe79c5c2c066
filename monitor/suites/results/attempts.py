"""Attempts of a scenario and how tightly each concurrent phase started (plain data, no I/O).

A race shows only when the run provokes it, so a scenario may run several *attempts*, each with
a fresh setup, until a check fails or the budget is spent. Each concurrent phase of an attempt
carries its delivery timing: the send spread (first to last final byte written) and, when the
target reports it, the arrival spread. A phase whose send spread is above the bound makes its
attempt *weak*: such an attempt is reported, and never counts as a clean "held" attempt.

The bound applies to the send spread, what the monitor controls: a target that reads its
requests one after another (a busy single-threaded loop, an in-process test server) shows a wide
arrival spread however tightly they were sent, and that is how the target is, not a weak try.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from monitor.suites.results.json_fields import ReportFormatError, get_field, items_of

AttemptStatus = Literal["passed", "failed", "error"]


def format_spread(seconds: float) -> str:
    """``95 µs``, ``1.8 ms``, ``2.1 s`` (three significant digits at most)."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


@dataclass(frozen=True, slots=True)
class PhaseTiming:
    """How one concurrent phase (one barrier batch) was delivered."""

    phase: str
    """``phases[0]`` or the phase's label."""
    sync: str
    """Delivery mode used: ``last-byte``, ``single-packet`` or ``none``."""
    requests: int
    send_spread_s: float | None
    """First to last final byte handed to the kernel (seconds); None below two requests."""
    arrival_spread_s: float | None = None
    """First to last arrival the target reported (seconds); None when it does not report."""
    detail: Mapping[str, Any] = field(default_factory=dict)
    """The rest of the delivery record (connections, protocol, note …) as the engine gave it."""

    @property
    def start_spread_s(self) -> float | None:
        """What the target saw when it reports arrivals, else the send spread."""
        return self.arrival_spread_s if self.arrival_spread_s is not None else self.send_spread_s

    def weak(self, bound_s: float | None) -> bool:
        """The requests left wider apart than the bound (send spread)."""
        spread = self.send_spread_s
        return bound_s is not None and spread is not None and spread > bound_s


@dataclass(slots=True)
class AttemptResult:
    """One attempt: its verdict, its phases' timing, the checks that failed or errored."""

    attempt: int
    """1-based."""
    status: AttemptStatus
    phases: list[PhaseTiming] = field(default_factory=list)
    duration_s: float = 0.0
    failed: list[str] = field(default_factory=list)
    """Names of the checks that failed (or errored, for an ``error`` attempt)."""
    weak: bool = False
    """A phase's requests left wider apart than the bound (set by ``Attempts.add``)."""

    @property
    def max_spread_s(self) -> float | None:
        """The widest send spread of its phases."""
        spreads = [p.send_spread_s for p in self.phases if p.send_spread_s is not None]
        return max(spreads) if spreads else None

    @property
    def max_arrival_spread_s(self) -> float | None:
        spreads = [p.arrival_spread_s for p in self.phases if p.arrival_spread_s is not None]
        return max(spreads) if spreads else None


MIN_WEAK_RERUNS = 3
"""Weak attempts are re-run up to as many again as the budget, and at least this many: a weak
attempt says the client was slow (the scheduler or another thread of the process held up the
release pass), and on a busy client without real-time priority ~1 in 10 is; with a budget of 1
(``soakmon demo``) a single re-run left "every attempt was weak" in 2 of 5 demos in the image
(UID 10001) beside a busy core."""


@dataclass(slots=True)
class Attempts:
    """The attempts of one scenario and their verdict in words."""

    planned: int
    """The budget: attempts to run (weak ones are re-run, up to ``planned`` extra, at least
    ``MIN_WEAK_RERUNS``)."""
    max_spread_s: float | None
    """A phase sent wider apart than this makes its attempt weak (None: no bound)."""
    run_all: bool = False
    """Keep going after a violation (``--attempts-all``) to report a rate."""
    runs: list[AttemptResult] = field(default_factory=list)

    def add(self, attempt: AttemptResult) -> AttemptResult:
        attempt.weak = attempt.status == "passed" and any(
            p.weak(self.max_spread_s) for p in attempt.phases
        )
        self.runs.append(attempt)
        return attempt

    @property
    def violated(self) -> int:
        return sum(a.status == "failed" for a in self.runs)

    @property
    def errored(self) -> int:
        return sum(a.status == "error" for a in self.runs)

    @property
    def weak(self) -> int:
        return sum(a.weak for a in self.runs)

    @property
    def held(self) -> int:
        """Attempts in which every check held and every phase started within the bound."""
        return sum(a.status == "passed" and not a.weak for a in self.runs)

    @property
    def counted(self) -> int:
        """Attempts that count against the budget (every attempt but the weak ones)."""
        return len(self.runs) - self.weak

    def more(self) -> bool:
        """Whether another attempt should run."""
        if not self.runs:
            return True
        if self.errored or (self.violated and not self.run_all):
            return False
        reruns = max(self.planned, MIN_WEAK_RERUNS)
        return self.counted < self.planned and len(self.runs) < self.planned + reruns

    def max_spread(self, *, clean_only: bool = False, arrival: bool = False) -> float | None:
        """The widest send (or ``arrival``) spread of the attempts (``clean_only``: held ones)."""
        spreads = [
            s
            for a in self.runs
            if not clean_only or (a.status == "passed" and not a.weak)
            if (s := a.max_arrival_spread_s if arrival else a.max_spread_s) is not None
        ]
        return max(spreads) if spreads else None

    @property
    def rate(self) -> float | None:
        """Share of the evaluated attempts that found a violation."""
        judged = self.violated + self.held
        return self.violated / judged if judged else None

    def summary(self) -> str:
        """``violated in k of n attempts`` or ``held in n attempts, spread ≤ X µs`` (+ weak)."""
        n = len(self.runs)
        plural = "attempt" if n == 1 else "attempts"
        if self.violated:
            text = f"violated in {self.violated} of {n} {plural}"
        elif self.errored:
            text = f"could not be evaluated in attempt {self.runs[-1].attempt} of {n}"
        elif self.held:
            text = f"held in {self.held} {'attempt' if self.held == 1 else 'attempts'}"
            spread = self.max_spread(clean_only=True)
            if spread is not None:
                text += f", spread ≤ {format_spread(spread)}"
        else:
            text = f"no clean attempt in {n}"
        if self.weak:
            worst = max((a.max_spread_s or 0.0) for a in self.runs if a.weak)
            bound = format_spread(self.max_spread_s or 0.0)
            text += f" ({self.weak} weak: spread up to {format_spread(worst)} > {bound})"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "planned": self.planned,
            "run": len(self.runs),
            "all": self.run_all,
            "violated": self.violated,
            "held": self.held,
            "weak": self.weak,
            "errored": self.errored,
            "rate": None if self.rate is None else round(self.rate, 6),
            "max_spread_bound_s": self.max_spread_s,
            "max_send_spread_s": _rounded(self.max_spread()),
            "max_arrival_spread_s": _rounded(self.max_spread(arrival=True)),
            "summary": self.summary(),
            "attempts": [
                {
                    "attempt": a.attempt,
                    "status": a.status,
                    "weak": a.weak,
                    "duration_s": round(a.duration_s, 6),
                    "failed": list(a.failed),
                    "phases": [_phase_to_json(p) for p in a.phases],
                }
                for a in self.runs
            ],
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 9)


def _phase_to_json(p: PhaseTiming) -> dict[str, Any]:
    return {
        **dict(p.detail),
        "phase": p.phase,
        "sync": p.sync,
        "requests": p.requests,
        "send_spread_s": _rounded(p.send_spread_s),
        "arrival_spread_s": _rounded(p.arrival_spread_s),
        "start_spread_s": _rounded(p.start_spread_s),
    }


def attempts_from_json(obj: Mapping[str, Any], path: str) -> Attempts:
    """Parse ``to_json``'s form back (``ReportFormatError`` naming the bad field)."""
    attempts = Attempts(
        planned=get_field(obj, "planned", int, path),
        max_spread_s=get_field(obj, "max_spread_bound_s", float, path, default=None),
        run_all=get_field(obj, "all", bool, path, default=False),
    )
    for p, a in items_of(obj, "attempts", path):
        status = get_field(a, "status", str, p)
        if status not in ("passed", "failed", "error"):
            raise ReportFormatError(f"{p}.status: expected one of passed, failed, error")
        phases = [
            PhaseTiming(
                phase=get_field(t, "phase", str, q),
                sync=get_field(t, "sync", str, q),
                requests=get_field(t, "requests", int, q),
                send_spread_s=get_field(t, "send_spread_s", float, q, default=None),
                arrival_spread_s=get_field(t, "arrival_spread_s", float, q, default=None),
                detail={k: v for k, v in t.items() if k not in _PHASE_KEYS},
            )
            for q, t in items_of(a, "phases", p)
        ]
        attempts.runs.append(
            AttemptResult(
                attempt=get_field(a, "attempt", int, p),
                status=cast(AttemptStatus, status),
                phases=phases,
                duration_s=get_field(a, "duration_s", float, p, default=0.0),
                failed=[str(f) for f in get_field(a, "failed", list, p, default=[])],
                weak=get_field(a, "weak", bool, p, default=False),
            )
        )
    return attempts


_PHASE_KEYS = frozenset(
    {"phase", "sync", "requests", "send_spread_s", "arrival_spread_s", "start_spread_s"}
)
