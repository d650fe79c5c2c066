"""What a daemon-scheduled experiment asks of the daemon's own view of its target.

:class:`SteadyGate` is the steady state before the method: the named suites' latest runs
passed and the named SLO verdicts hold (conclusively), read from :class:`DaemonState`; else a
reason, and the experiment is skipped with it. :func:`soak_burn_watch` guards the method: when
the soak traffic on the target (the analyses' rolling window) burns the error budget faster
than allowed, it aborts the experiment, which reverts every active fault.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

from monitor.analysis.slo import burn_rate
from monitor.chaos.experiment.guardrails import Abort
from monitor.daemon.analyzing import TargetWatch
from monitor.daemon.config.chaos import ChaosSteadyState, SoakBurn
from monitor.daemon.config.verdicts import SloConfig
from monitor.daemon.state import DaemonState, SuiteState


class SteadyGate:
    """``gate()`` -> None when the daemon's suites and SLOs on ``target`` hold, else why not."""

    def __init__(
        self,
        state: DaemonState,
        target: str,
        spec: ChaosSteadyState,
        names: dict[str, str],
    ) -> None:
        self.state = state
        self.target = target
        self.spec = spec
        self.names = names  # suite key -> suite name (config.suite_keys)

    def _suites(self, ref: str) -> list[SuiteState]:
        return [s for key, s in self.state.suites.items()
                if s.target == self.target and ref in (key, self.names.get(key))]  # fmt: skip

    def __call__(self) -> str | None:
        reasons: list[str] = []
        for ref in self.spec.suites:
            found = self._suites(ref)
            if not found:
                reasons.append(f"suite {ref} is not scheduled on target {self.target}")
            for suite in found:
                last = suite.history[-1] if suite.history else None
                if last is None:
                    reasons.append(f"suite {suite.name} has not run yet")
                elif not last["passed"]:
                    why = last.get("error") or ", ".join(last.get("failed_checks", [])[:3])
                    at = last["started_at"] + (f": {why}" if why else "")
                    reasons.append(f"suite {suite.name} failed its latest run ({at})")
        for name in self.spec.slos:
            v = self.state.verdicts.get((self.target, name))
            if v is None:
                reasons.append(f"SLO {name} of target {self.target} is not evaluated yet")
            elif not v.conclusive:
                reasons.append(f"SLO {name} of target {self.target} is inconclusive "
                               f"({v.message})")  # fmt: skip
            elif not v.passed:
                reasons.append(f"SLO {name} of target {self.target} does not hold "
                               f"({v.observed}; expected {v.expected})")  # fmt: skip
        return "; ".join(reasons) or None


def soak_burn_watch(
    watch: TargetWatch, slo: SloConfig, spec: SoakBurn
) -> Callable[[Abort], Coroutine[Any, Any, None]]:
    """A method guard: abort when the soak on ``watch``'s target burns its error budget faster
    than ``spec.max_burn_rate`` (requests finished since the method started, at most
    ``spec.window`` back)."""
    min_requests = spec.min_requests or slo.min_requests

    async def guard(abort: Abort) -> None:
        started = time.monotonic()
        while True:
            await asyncio.sleep(min(0.5, spec.window / 2))
            now = time.monotonic()
            stats = watch.requests.stats(now, since=max(started, now - spec.window))
            if stats.total < min_requests:
                continue
            burn = burn_rate(stats.error_ratio, slo.error_rate)
            if burn > spec.max_burn_rate:
                abort(f"the soak's error budget on target {watch.name} burning {burn:.1f}x "
                      f"(errors {stats.error_ratio:.1%} of {stats.total} requests) > "
                      f"soak_burn.max_burn_rate {spec.max_burn_rate:g}")  # fmt: skip
                return

    return guard


__all__ = ["SteadyGate", "soak_burn_watch"]
