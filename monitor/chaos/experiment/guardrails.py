"""Guardrails that cut an experiment's method short: the abort switch (first reason wins)
and the error budget's burn rate over the workload's last ``burn_window``."""

from __future__ import annotations

import asyncio
import logging

from monitor.chaos.experiment.model import Experiment
from monitor.chaos.experiment.workload import LedgerWorkload

log = logging.getLogger(__name__)


class Abort:
    """Why the method was cut short (first reason wins)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.reason = ""

    def __call__(self, reason: str) -> None:
        if not self.event.is_set():
            self.reason = reason
            log.warning("chaos experiment aborted: %s", reason)
            self.event.set()


async def burn_watch(exp: Experiment, workload: LedgerWorkload, abort: Abort) -> None:
    assert exp.guardrails.max_burn_rate is not None
    window = exp.guardrails.burn_window
    while True:
        await asyncio.sleep(min(0.5, window / 2))
        t = workload.now()
        stats = workload.between(t - window, t)
        if stats.requests < exp.slo.min_requests:
            continue
        burn = stats.error_rate / exp.slo.error_rate
        if burn > exp.guardrails.max_burn_rate:
            abort(f"error budget burning {burn:.1f}x (errors {stats.error_rate:.1%} over "
                  f"{window:g}s) > max_burn_rate {exp.guardrails.max_burn_rate:g}")  # fmt: skip
            return


__all__ = ["Abort", "burn_watch"]
