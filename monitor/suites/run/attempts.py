"""How many attempts a scenario gets, and when a phase started too loosely to count.

A *race scenario* has at least one concurrent batch phase (operations fired together behind
one barrier), unless it says ``race: false`` (a burst or mixed load judged by latency and
errors, not by a race invariant); a scenario whose phases are all sustained loads is not one.
A scenario that is not a race runs once (unless its own ``attempts:``). The budget of a race
scenario is its own ``attempts:`` when it says, else the run's (``--attempts``, the daemon's
suite job, the Helm Job values), else ``DEFAULT_RACE_ATTEMPTS``.

A phase whose send spread (first to last final byte written: what the monitor controls; the
arrival spread a target reports is shown beside it) is above the bound — the scenario's
``max_spread_us``, else for a race scenario the run's ``--max-spread-us``, else
``DEFAULT_MAX_SPREAD_S`` — makes its attempt *weak*: reported, re-run (up to the budget
again, at least ``MIN_WEAK_RERUNS`` times), never counted as a clean "held" attempt. A
scenario that held only in weak attempts is an ``error`` (the race may never have been
provoked), never a pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.suites.results import CheckResult
from monitor.suites.results.attempts import Attempts, PhaseTiming, format_spread
from monitor.suites.run.phase import PhaseOutcome
from monitor.suites.run.scenario_run import ScenarioRun
from monitor.suites.suite.models import Scenario

#: Attempts of a race scenario unless it or the run says otherwise: the smallest number that
#: catches every race fault of the reference target at its natural window (--race-window 0) in
#: at least 19 of 20 runs (``make stats``). Measured per attempt with synchronised delivery (load
#: ~15 on 2 cores): the weakest races, a reader that must land between two commits
#: (partial-top3 65 %, dirty-read 75 % on SQLite with one reader), needed 4 for ≥ 98.5 % per run
#: (3: 95.7 %). With two back-to-back readers (load 12) they reach 95 % and 100 % per attempt; the
#: completion-bonus delete race still needs the 4.
DEFAULT_RACE_ATTEMPTS = 4
#: A concurrent phase whose requests left wider apart than this (seconds) is weak.
DEFAULT_MAX_SPREAD_S = 0.001

#: Keys of the engine's delivery record kept as typed fields of ``PhaseTiming``.
_TYPED = frozenset({"sync", "requests", "send_spread_s", "arrival_spread_s", "start_spread_s"})


def is_race(scenario: Scenario) -> bool:
    """What the scenario says (``race:``), else whether it has a concurrent batch phase (not
    only sustained loads)."""
    if scenario.race is not None:
        return scenario.race
    return any(phase.load is None for phase in scenario.phases)


@dataclass(frozen=True, slots=True)
class AttemptPolicy:
    """The run's defaults: ``attempts`` (None: ``DEFAULT_RACE_ATTEMPTS``), ``run_all`` (keep
    going after a violation, to report a rate) and the spread bound in seconds (None: none)."""

    attempts: int | None = None
    run_all: bool = False
    max_spread_s: float | None = DEFAULT_MAX_SPREAD_S

    def __post_init__(self) -> None:
        if self.attempts is not None and self.attempts < 1:
            raise ValueError(f"attempts must be >= 1, got {self.attempts}")
        if self.max_spread_s is not None and not self.max_spread_s > 0:
            raise ValueError(f"the spread bound must be > 0 seconds, got {self.max_spread_s}")

    def attempts_for(self, scenario: Scenario, run: ScenarioRun) -> Attempts:
        """The scenario's budget and bound (its own settings win over the run's)."""
        race = is_race(scenario)
        if scenario.attempts is not None:
            planned = run.render_int(scenario.attempts, "attempts")
        elif race:
            planned = self.attempts if self.attempts is not None else DEFAULT_RACE_ATTEMPTS
        else:
            planned = 1
        # the bound certifies that a race was tried; a burst judged by its answers has none
        bound = self.max_spread_s if race else None
        if scenario.max_spread_us is not None:
            bound = run.render_float(scenario.max_spread_us, "max_spread_us") / 1e6 or None
        return Attempts(planned=planned, max_spread_s=bound, run_all=self.run_all)


def phase_timings(phases: Sequence[PhaseOutcome]) -> list[PhaseTiming]:
    """The delivery timing of each concurrent batch phase that had one."""
    out: list[PhaseTiming] = []
    for i, phase in enumerate(phases):
        delivery = phase.delivery
        if delivery is None:
            continue
        out.append(
            PhaseTiming(
                phase=phase.label or f"phases[{i}]",
                sync=delivery.sync,
                requests=delivery.requests,
                send_spread_s=delivery.send_spread_s,
                arrival_spread_s=delivery.arrival_spread_s,
                detail={k: v for k, v in delivery.to_dict().items() if k not in _TYPED},
            )
        )
    return out


def delivery_error(attempts: Attempts) -> CheckResult | None:
    """An ``error`` when every attempt held but only weakly: nothing shows the race was tried."""
    if attempts.held or not attempts.weak or attempts.violated or attempts.errored:
        return None
    bound = format_spread(attempts.max_spread_s or 0.0)
    worst = format_spread(attempts.max_spread() or 0.0)
    n = len(attempts.runs)
    return CheckResult.error(
        "start spread",
        f"a concurrent phase's requests leave within {bound} in at least one attempt",
        f"every attempt was weak: in {n} of {n} the requests left wider apart than {bound} (up "
        f"to {worst}), so the "
        "race may never have been provoked; tighten the delivery (--sync last-byte, a less "
        "busy client machine) or raise the bound (--max-spread-us, max_spread_us:)",
        observed=f"{n} weak attempts, send spread up to {worst} > {bound}",
    )
