"""Run one experiment: steady state, method (+ during), recovery, verdict.

1. **Steady state**: the workload runs for ``baseline``; its SLO must hold and every steady
   state suite must pass, else the experiment is *skipped* with the reason (nothing injected).
2. **Method**: each step starts ``after`` seconds into the method and holds its fault for
   ``duration`` (steps whose spans overlap are active together, at most
   ``max_concurrent_actions``). Meanwhile the workload goes on and the ``during`` suites run.
   A failed check of a during suite (``abort_on_violation``), an error budget burning faster
   than ``max_burn_rate``, or the kill switch **aborts**: the remaining steps are skipped and
   every active fault is reverted at once.
3. **Recovery**: after the last revert the target must answer within ``within``; then the
   workload runs ``observe`` more seconds (SLO again) and the recovery suites must pass.
4. **Invariants over the whole window**: the workload stops and the ledger is read back; no
   committed write may be lost or duplicated (unknown outcomes may go either way).

Never two experiments on one target at once: a per-process lock and the journal (another
process's active faults on the same target) both make the second one *skipped*.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from opentelemetry import trace

from monitor.chaos.action import ActionContext
from monitor.chaos.engine import ActionEngine, ActionRun
from monitor.chaos.experiment.guardrails import Abort, burn_watch
from monitor.chaos.experiment.load import LoadedExperiment
from monitor.chaos.experiment.model import Experiment
from monitor.chaos.experiment.result import Check, ExperimentPhase, ExperimentResult, SuiteRun
from monitor.chaos.experiment.verdict import (
    failed_text,
    skip,
    slo_check,
    slo_met,
    slo_text,
    verdict,
)
from monitor.chaos.experiment.workload import LedgerWorkload
from monitor.chaos.journal import Journal
from monitor.errors import SoakmonError
from monitor.events import EventBus
from monitor.suites.run.runner import RunOptions, run_suites

log = logging.getLogger(__name__)

_TARGET_LOCKS: dict[str, asyncio.Lock] = {}


def _lock_for(url: str) -> asyncio.Lock:
    return _TARGET_LOCKS.setdefault(url.rstrip("/"), asyncio.Lock())


class ExperimentRunner:
    """Runs experiments with one journal, bus and kill switch (the daemon keeps one)."""

    def __init__(
        self,
        journal: Journal,
        *,
        bus: EventBus | None = None,
        kill: asyncio.Event | None = None,
        seed: int | None = None,
        dry_run: bool = False,
        tracer: trace.Tracer | None = None,
        steady: Callable[[], str | None] | None = None,
        guards: Sequence[Callable[[Abort], Coroutine[Any, Any, None]]] = (),
    ) -> None:
        """``steady`` is an extra steady state (None = holds, else why not) checked after the
        file's own; ``guards`` run through the method and may abort it (the daemon's view of
        the target: its suites, SLOs and soak traffic)."""
        self.steady = steady
        self.guards = guards
        self.journal = journal
        self.tracer = tracer
        self.bus = bus
        self.kill = kill or asyncio.Event()
        self.seed = seed
        self.dry_run = dry_run

    async def run(self, loaded: LoadedExperiment) -> ExperimentResult:
        exp = loaded.experiment
        result = ExperimentResult(exp.name, exp.target.url)
        result.dry_run = self.dry_run or exp.guardrails.dry_run
        result.slo = exp.slo.model_dump()
        clock = time.monotonic()
        lock = _lock_for(exp.target.url)
        if lock.locked():
            return skip(result, f"another experiment is running against {exp.target.url}")
        async with lock:
            busy = self.journal.busy_with(exp.target.url, exp.name)
            if busy is not None:
                who = "a dead run (revert it: soakmon chaos revert)" if busy.orphaned() else (
                    f"experiment {busy.experiment!r} (pid {busy.owner_pid})"
                )  # fmt: skip
                return skip(result, f"{exp.target.url} has an active fault ({busy.kind}) of {who}")
            try:
                await self._run(loaded, result)
            except SoakmonError as exc:
                result.status, result.reason = "error", str(exc)
            finally:
                result.duration_s = time.monotonic() - clock
        return result

    async def _run(self, loaded: LoadedExperiment, result: ExperimentResult) -> None:
        exp = loaded.experiment
        if result.dry_run:
            await self._dry_run(loaded, result)
            return
        for name, action in zip(exp.step_names(), loaded.actions, strict=True):
            try:
                await action.setup()
            except SoakmonError as exc:
                skip(result, f"setup of step {name}: {exc}")
                return
        seed = self.seed if self.seed is not None else random.SystemRandom().randrange(2**31)
        workload = None
        if exp.workload is not None:
            workload = LedgerWorkload(exp.workload, exp.target, loaded.profile.profile, seed)
            try:
                await workload.start(deadline_s=exp.recovery.within)
            except RuntimeError as exc:
                await workload.close()
                skip(result, f"steady state: {exc}")
                return
        result.workload_t0 = time.time() - (workload.now() if workload else 0.0)
        try:
            await self._phases(loaded, result, workload)
        finally:
            if workload is not None:
                await workload.close()
                result.timeline = workload.timeline()

    async def _phases(
        self, loaded: LoadedExperiment, result: ExperimentResult, workload: LedgerWorkload | None
    ) -> None:
        exp = loaded.experiment
        now = workload.now if workload else (lambda: time.time() - result.workload_t0)
        # 1. steady state
        start = now()
        await self._sleep(exp.steady_state.baseline)
        before = self._phase(
            result, name="before", start=start, end=now(), workload=workload, exp=exp
        )
        if exp.steady_state.slo and before.slo_met is False:
            skip(
                result,
                f"steady state: the SLO does not hold before the fault ({slo_text(before)})",
            )
            return
        for ref in exp.steady_state.suites:
            run = await self._suite(loaded, ref, "steady state", result)
            if not run.passed:
                skip(result, f"steady state: suite {ref} {run.status}{failed_text(run)}")
                return
        why = self.steady() if self.steady is not None else None
        if why is not None:
            skip(result, f"steady state: {why}")
            return
        if self.kill.is_set():
            skip(result, "the chaos kill switch is on")
            return
        # 2. method (+ during)
        abort = Abort()
        method_start = now()
        watchers = [asyncio.create_task(self._kill_watch(abort), name="chaos-kill-watch")]
        if workload is not None and exp.guardrails.max_burn_rate is not None:
            watchers.append(asyncio.create_task(burn_watch(exp, workload, abort)))
        watchers.extend(asyncio.create_task(guard(abort)) for guard in self.guards)
        during = asyncio.create_task(self._during(loaded, result, abort), name="chaos-during")
        try:
            runs = await self._method(loaded, abort)
        finally:
            for w in watchers:
                w.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
        result.actions.extend(runs)
        last_revert = now()
        await during
        self._phase(result, name="during", start=method_start, end=last_revert,
                    workload=workload, exp=exp)  # fmt: skip
        failed = [r for r in runs if r.result in ("failed", "revert-failed")]
        # 3. recovery
        recovered_at = await self._recover(exp, result, workload, last_revert, now)
        if recovered_at is not None and exp.recovery.observe > 0:
            await self._sleep(exp.recovery.observe)
            after = self._phase(result, name="after", start=recovered_at, end=now(),
                                workload=workload, exp=exp)  # fmt: skip
            if exp.recovery.slo:
                result.checks.append(slo_check(after, exp, "recovery"))
        for ref in exp.recovery.suites if recovered_at is not None else ():
            run = await self._suite(loaded, ref, "recovery", result)
            observed = run.status + failed_text(run)
            result.checks.append(Check(f"suite {ref} passes again", run.passed, "passed",
                                       observed, phase="recovery"))  # fmt: skip
        # 4. invariants over the whole window
        if workload is not None:
            await workload.stop()
            ledger = await workload.verify(deadline_s=exp.recovery.within)
            result.checks.append(Check(
                "no committed write lost or duplicated", ledger.holds,
                "committed <= total <= committed + unknown adds", ledger.message(),
                phase="whole window",
            ))  # fmt: skip
        verdict(result, abort, failed)

    async def _dry_run(self, loaded: LoadedExperiment, result: ExperimentResult) -> None:
        exp = loaded.experiment
        engine = ActionEngine(
            self.journal, bus=self.bus, policy=loaded.policy, dry_run=True, tracer=self.tracer
        )
        for name, step, action in zip(exp.step_names(), exp.method, loaded.actions, strict=True):
            ctx = ActionContext(f"{exp.name}-dry-{name}", exp.target.url, exp.name)
            result.actions.append(await engine.run(action, ctx, duration_s=step.duration,
                                                   name=name))  # fmt: skip
        result.status = "passed"
        result.reason = "dry run: nothing was injected"

    async def _method(self, loaded: LoadedExperiment, abort: Abort) -> list[ActionRun]:
        exp = loaded.experiment
        engine = ActionEngine(
            self.journal, bus=self.bus, policy=loaded.policy,
            max_concurrent=exp.guardrails.max_concurrent_actions, tracer=self.tracer,
        )  # fmt: skip
        run_id = uuid.uuid4().hex[:6]

        async def step(i: int, name: str) -> ActionRun:
            spec, action = exp.method[i], loaded.actions[i]
            ctx = ActionContext(f"{exp.name}-{run_id}-{name}", exp.target.url, exp.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(abort.event.wait(), spec.after)
            if abort.event.is_set():
                skipped = ActionRun(ctx.id, name, action.kind, ctx.target, action.describe())
                skipped.result, skipped.error = "skipped", f"aborted: {abort.reason}"
                return skipped
            try:
                return await engine.run(action, ctx, duration_s=spec.duration, name=name,
                                        abort=abort.event)  # fmt: skip
            except SoakmonError as exc:  # refused or prepare failed: nothing injected
                run = ActionRun(ctx.id, name, action.kind, ctx.target, action.describe())
                run.result, run.error = "failed", str(exc)
                abort(f"step {name}: {exc}")
                return run

        tasks = [asyncio.create_task(step(i, n), name=f"chaos-step-{n}")
                 for i, n in enumerate(exp.step_names())]  # fmt: skip
        return list(await asyncio.gather(*tasks))

    async def _during(
        self, loaded: LoadedExperiment, result: ExperimentResult, abort: Abort
    ) -> None:
        exp = loaded.experiment
        if not exp.during.suites:
            return
        first = min(s.after for s in exp.method)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(abort.event.wait(), first + 0.5)  # the first fault is on
        for ref in exp.during.suites:
            if abort.event.is_set():
                return
            run = await self._suite(loaded, ref, "during", result)
            violated = run.status == "failed"
            result.checks.append(Check(
                f"suite {ref} holds during the fault", not violated,
                "no invariant violated", run.status + failed_text(run), phase="during",
            ))  # fmt: skip
            if violated and exp.guardrails.abort_on_violation:
                abort(f"invariant broken during the fault: suite {ref}{failed_text(run)}")

    async def _suite(
        self, loaded: LoadedExperiment, ref: str, phase: str, result: ExperimentResult
    ) -> SuiteRun:
        exp = loaded.experiment
        t0 = time.monotonic()
        try:
            run = await run_suites(
                exp.target.url, loaded.profile.profile, [loaded.suites[ref]],
                RunOptions(seed=self.seed, timeout_s=exp.target.timeout, tracer=self.tracer),
            )  # fmt: skip
            failed = [f"{sc.name}: {c.name}" for sc in run.scenarios for c in sc.failed_checks]
            out = SuiteRun(ref, phase, run.passed, run.status, failed)
        except SoakmonError as exc:
            out = SuiteRun(ref, phase, False, "error", [str(exc)])
        out.duration_s = time.monotonic() - t0
        result.suites.append(out)
        return out

    async def _recover(
        self,
        exp: Experiment,
        result: ExperimentResult,
        workload: LedgerWorkload | None,
        last_revert: float,
        now: Callable[[], float],
    ) -> float | None:
        if workload is None:
            return now()
        deadline = time.monotonic() + exp.recovery.within
        while True:
            call = await workload.probe()
            if call.ok:
                at = now()
                result.recovery_s = round(max(0.0, at - last_revert), 3)
                result.checks.append(Check(
                    "target answers again", True, f"within {exp.recovery.within:g}s",
                    f"after {result.recovery_s:.2f}s", phase="recovery",
                ))  # fmt: skip
                return at
            if time.monotonic() > deadline:
                result.checks.append(Check(
                    "target answers again", False, f"within {exp.recovery.within:g}s",
                    f"still {call.code} after {exp.recovery.within:g}s", phase="recovery",
                ))  # fmt: skip
                return None
            await asyncio.sleep(0.1)

    def _phase(
        self,
        result: ExperimentResult,
        *,
        name: str,
        start: float,
        end: float,
        workload: LedgerWorkload | None,
        exp: Experiment,
    ) -> ExperimentPhase:
        phase = ExperimentPhase(name, start, end)
        if workload is not None:
            stats = workload.between(start, end)
            phase.stats = stats.to_json()
            phase.slo_met = slo_met(stats, exp)
        result.phases.append(phase)
        return phase

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.kill.wait(), seconds)

    async def _kill_watch(self, abort: Abort) -> None:
        await self.kill.wait()
        abort("the chaos kill switch was turned on")


__all__ = ["ExperimentRunner"]
