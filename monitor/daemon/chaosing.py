"""Chaos in the daemon: scheduled experiments, the revert of a dead run's faults at start, and
the kill switch.

:class:`ChaosControl` owns the journal and the switch. At start it reverts every fault a
previous daemon left active (SIGKILL, OOM, node loss) before any experiment may run.
``pause`` stops new experiments; ``kill`` also aborts the running ones at once (every active
fault reverted) and pauses; ``resume`` undoes both. On SIGTERM running experiments abort and
revert within the grace period. :class:`ChaosLoop` runs one scheduled experiment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from opentelemetry import trace

from monitor.chaos.engine import revert_entries
from monitor.chaos.experiment.guardrails import Abort
from monitor.chaos.experiment.load import LoadedExperiment, load_experiment, resolve_experiment
from monitor.chaos.experiment.model import TargetSpec
from monitor.chaos.experiment.result import ExperimentResult
from monitor.chaos.experiment.runner import ExperimentRunner
from monitor.chaos.journal import Entry, Journal, default_state_dir
from monitor.daemon.config.chaos import ChaosConfig, ChaosJob
from monitor.daemon.config.targets import Target
from monitor.daemon.schedule import decide, first_due
from monitor.events import EventBus
from monitor.suites.loading.yamlsource import Locations

log = logging.getLogger(__name__)

KEEP_RESULTS = 20


class ChaosControl:
    """The journal, the kill switch and what the experiments did."""

    def __init__(
        self, cfg: ChaosConfig, bus: EventBus, *, tracer: trace.Tracer | None = None
    ) -> None:
        self.cfg = cfg
        self.bus = bus
        self.tracer = tracer
        self.journal = Journal(cfg.state_dir or default_state_dir())
        self.kill = asyncio.Event()
        self.paused = cfg.paused
        self.ready = asyncio.Event()
        self.running: dict[str, str] = {}
        self.results: list[dict[str, Any]] = []
        self.reverted_at_start: list[dict[str, Any]] = []

    # -- the switch ---------------------------------------------------------------------------
    def pause(self) -> None:
        self.paused = True
        log.warning("chaos paused through the API: no new experiment starts")

    def resume(self) -> None:
        self.paused = False
        self.kill.clear()
        log.warning("chaos resumed through the API")

    def kill_now(self) -> None:
        self.paused = True
        self.kill.set()
        log.warning("chaos KILLED through the API: running experiments abort and revert")

    def status(self) -> dict[str, Any]:
        return {
            "paused": self.paused,
            "killed": self.kill.is_set(),
            "journal": str(self.journal.path),
            "running": dict(self.running),
            "active_faults": [_entry(e) for e in self.journal.entries()],
            "reverted_at_start": self.reverted_at_start,
            "results": list(self.results),
        }

    def record(self, key: str, result: ExperimentResult) -> None:
        doc = result.to_json()
        doc.pop("timeline", None)
        self.results = [{"job": key, **doc}, *self.results][:KEEP_RESULTS]

    # -- the control loop -----------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Revert what a dead run left (once), then hold the switch until the daemon stops."""
        if not self.ready.is_set():
            orphans = self.journal.orphans()
            for entry, error in await revert_entries(self.journal, orphans):
                self.reverted_at_start.append(
                    {"id": entry.id, "kind": entry.kind, "target": entry.target, "error": error}
                )
            self.ready.set()
        await stop.wait()
        self.kill.set()  # stopping: running experiments abort and revert now


def _entry(e: Entry) -> dict[str, Any]:
    return {"id": e.id, "kind": e.kind, "target": e.target, "experiment": e.experiment,
            "state": e.state, "started_at": e.started_at}  # fmt: skip


class ChaosLoop:
    """One scheduled experiment."""

    def __init__(
        self,
        key: str,
        job: ChaosJob,
        target: Target | None,
        control: ChaosControl,
        *,
        rng: random.Random,
        seed: int | None,
        steady: Callable[[], str | None] | None = None,
        guards: Sequence[Callable[[Abort], Coroutine[Any, Any, None]]] = (),
    ) -> None:
        self.steady = steady
        self.guards = guards
        self.key = key
        self.job = job
        self.target = target
        self.control = control
        self.rng = rng
        self.seed = seed

    def _load(self) -> LoadedExperiment:
        loaded = load_experiment(self.job.experiment)
        if self.target is None:
            return loaded
        spec = TargetSpec(url=self.target.url, profile=self.target.profile,
                          timeout=self.target.timeout)  # fmt: skip
        exp = loaded.experiment.model_copy(update={"target": spec})
        return resolve_experiment(exp, Locations(loaded.file), loaded.file)

    async def run_once(self) -> ExperimentResult:
        loaded = self._load()
        runner = ExperimentRunner(self.control.journal, bus=self.control.bus,
                                  kill=self.control.kill, seed=self.seed,
                                  dry_run=self.job.dry_run,
                                  tracer=self.control.tracer, steady=self.steady,
                                  guards=self.guards)  # fmt: skip
        self.control.running[self.key] = loaded.experiment.name
        try:
            result = await runner.run(loaded)
        finally:
            self.control.running.pop(self.key, None)
        log.warning("chaos experiment %s: %s%s", self.key, result.status,
                    f" ({result.reason})" if result.reason else "")  # fmt: skip
        self.control.record(self.key, result)
        return result

    async def run(self, stop: asyncio.Event) -> None:
        await self.control.ready.wait()
        schedule = self.job.schedule.schedule()
        due = first_due(schedule, now=time.time(), rng=self.rng)
        while not stop.is_set():
            decision = decide(schedule, now=time.time(), due_at=due, running=False, rng=self.rng)
            if decision.run_now and not self.control.paused:
                await self.run_once()
                due = decision.next_at
                continue
            if decision.run_now:  # paused: skip this slot
                due = decision.next_at
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.05, min(due - time.time(), 5.0)))
