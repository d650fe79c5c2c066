"""Scheduled suite runs: one loop per configured suite, never two runs of it at once.

A run has a hard timeout; a run that crashes or times out is recorded as failed with the cause,
and the loop carries on. Results become events: ``RunStarted``/``RunFinished`` for every run,
``CheckFailed`` for every failing check and ``CheckRecovered`` when a failing check holds again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from monitor.daemon.config.suites import SuiteJob
from monitor.daemon.config.targets import Target
from monitor.daemon.schedule import decide, first_due
from monitor.engine import RequestHooks, SyncMode
from monitor.events import (
    CheckFailed,
    CheckRecovered,
    EventBus,
    RunFinished,
    RunStarted,
    SuiteScheduled,
)
from monitor.suites.loading.loader import load_profile, load_suite, resolve_profile, resolve_suite
from monitor.suites.results import RunResult
from monitor.suites.run.attempts import AttemptPolicy
from monitor.suites.run.runner import RunOptions, run_suites
from monitor.suites.suite.models import Suite

log = logging.getLogger(__name__)

SuiteRunner = Callable[
    [SuiteJob, Target, RequestHooks, int, trace.Tracer | None], Awaitable[RunResult]
]


async def run_suite_job(
    job: SuiteJob,
    target: Target,
    hooks: RequestHooks,
    seed: int,
    tracer: trace.Tracer | None = None,
) -> RunResult:
    """Run a configured suite (files re-read each run, so an edited suite is picked up)."""
    profile = load_profile(resolve_profile(target.profile)).profile
    loaded = load_suite(resolve_suite(job.suite), profile)
    if job.scenarios:
        wanted = set(job.scenarios)
        kept = [s for s in loaded.suite.scenarios if s.name in wanted]
        missing = wanted - {s.name for s in kept}
        if missing:
            raise ValueError(f"suite {loaded.suite.name!r} has no scenario {sorted(missing)}")
        suite = Suite.model_validate({**loaded.suite.model_dump(), "scenarios": kept})
        loaded = type(loaded)(suite, loaded.file, loaded.locations)
    options = RunOptions(
        seed=seed, overrides=dict(job.params), timeout_s=target.timeout, hooks=hooks, tracer=tracer,
        sync=SyncMode.parse(job.sync), h2c=target.h2c, ca_file=target.ca_file,
        attempts=AttemptPolicy(
            attempts=job.attempts, run_all=job.attempts_all, max_spread_s=job.max_spread_us / 1e6
        ),
    )  # fmt: skip
    return await run_suites(target.url, profile, [loaded], options)


class SuiteLoop:
    """Runs one suite job on its schedule until the daemon stops."""

    def __init__(
        self,
        key: str,
        job: SuiteJob,
        target: Target,
        *,
        bus: EventBus,
        hooks: RequestHooks,
        rng: random.Random,
        runner: SuiteRunner = run_suite_job,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self.key = key
        self.job = job
        self.target = target
        self.bus = bus
        self.hooks = hooks
        self.rng = rng
        self.runner = runner
        self.tracer = tracer or trace.get_tracer("soakmon.daemon")
        self._failing: set[tuple[str, str]] = set()

    async def run_once(self) -> RunFinished:
        """One run with its timeout; never raises for a failing or broken run."""
        started = time.time()
        await self.bus.emit(RunStarted(self.key, self.job.target, started))
        log.info("suite %s: run started", self.key)
        result: RunResult | None = None
        error: str | None = None
        seed = self.rng.randrange(2**31)
        with self.tracer.start_as_current_span(f"run {self.key}") as span:
            span.set_attribute("soakmon.suite", self.job.suite)
            span.set_attribute("soakmon.target", self.job.target)
            span.set_attribute("soakmon.seed", seed)
            try:
                result = await asyncio.wait_for(
                    self.runner(self.job, self.target, self.hooks, seed, self.tracer),
                    timeout=self.job.timeout,
                )
            except TimeoutError:
                error = f"run exceeded its timeout of {self.job.timeout:g} s and was cancelled"
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            if error is not None:
                span.set_status(Status(StatusCode.ERROR, error))
            elif result is not None and not result.passed:
                span.set_status(Status(StatusCode.ERROR, "checks failed"))
        finished = RunFinished(self.key, self.job.target, started, time.time(), result, error)
        await self.bus.emit(finished)
        verdict = "passed" if finished.passed else "failed"
        took = finished.finished_at - started
        if error is not None:
            log.warning("suite %s: run finished: %s in %.1f s: %s", self.key, verdict, took, error)
        else:
            log.info("suite %s: run finished: %s in %.1f s", self.key, verdict, took)
        if result is not None:
            await self._check_events(result, finished.finished_at)
        return finished

    async def _check_events(self, result: RunResult, at: float) -> None:
        now_failing: set[tuple[str, str]] = set()
        seen: set[tuple[str, str]] = set()
        for scenario in result.scenarios:
            for check in scenario.checks:
                key = (scenario.name, check.name)
                seen.add(key)
                if check.status == "failed":  # an error or n/a is not a violation
                    now_failing.add(key)
                    await self.bus.emit(
                        CheckFailed(self.key, scenario.name, self.job.target, check, at)
                    )
        for scenario_name, check_name in sorted(self._failing - now_failing):
            if (scenario_name, check_name) in seen:
                await self.bus.emit(
                    CheckRecovered(self.key, scenario_name, self.job.target, check_name, at)
                )
        self._failing = now_failing | (self._failing - seen)

    async def _scheduled(self, next_run_at: float, missed: int) -> None:
        await self.bus.emit(
            SuiteScheduled(self.key, self.job.target, next_run_at, missed, time.time())
        )

    async def run(self, stop: asyncio.Event) -> None:
        schedule = self.job.schedule.schedule()
        due = first_due(schedule, now=time.time(), rng=self.rng)
        await self._scheduled(due, 0)
        while not stop.is_set():
            decision = decide(schedule, now=time.time(), due_at=due, running=False, rng=self.rng)
            if decision.run_now:
                # The run is awaited here, so it can never overlap the next; slots that pass
                # meanwhile are counted as missed by ``decide`` on the next turn.
                await self._scheduled(decision.next_at, 0)
                await self.run_once()
                late = decide(
                    schedule, now=time.time(), due_at=decision.next_at, running=True, rng=self.rng
                )
                missed = late.missed
                due = late.next_at if missed else decision.next_at
            else:
                missed, due = 0, decision.next_at
            await self._scheduled(due, missed)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=max(0.0, due - time.time()))
