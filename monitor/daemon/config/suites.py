"""Suites the daemon runs on a schedule (``suites:``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from monitor.daemon.config.fields import DaemonModel, Name, PositiveDuration, ScheduleSpec
from monitor.suites.run.attempts import DEFAULT_MAX_SPREAD_S


class SuiteJob(DaemonModel):
    """A suite run on a schedule against a target."""

    suite: str
    """Built-in suite name or path to a suite file."""
    target: Name
    """Name of a target in `targets`."""
    schedule: ScheduleSpec
    """When to run it."""
    timeout: PositiveDuration = 600.0
    """Upper bound on one run; a run past it is cancelled and recorded as failed. Default: 10m."""
    scenarios: list[str] = Field(default_factory=list)
    """Only these scenarios of the suite. Default: all."""
    params: dict[str, int | float | bool | str] = Field(default_factory=dict)
    """Suite parameter overrides. Default: {}."""
    sync: Literal["auto", "last-byte", "single-packet", "none"] = "auto"
    """How concurrent phases are delivered (as `soakmon run --sync`; a scenario's or phase's
    `sync:` wins). Default: auto."""
    attempts: Annotated[int, Field(ge=1)] | None = None
    """Attempts of each race scenario (one with a concurrent phase), each with a fresh setup,
    until a check fails, as `soakmon run --attempts`. Default: the scenario's `attempts:`, else
    soakmon's default for race scenarios."""
    attempts_all: bool = False
    """Run every attempt even after a violation (the rate shows in
    `soakmon_scenario_attempts_total`). Default: false (stop at the first violation)."""
    max_spread_us: Annotated[float, Field(gt=0)] = DEFAULT_MAX_SPREAD_S * 1e6
    """A concurrent phase whose requests leave wider apart than this (send spread, µs) makes
    its attempt weak: counted as `weak`, re-run, never as held. A scenario's `max_spread_us:`
    wins. Default: 1000."""
