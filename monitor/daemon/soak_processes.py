"""A soak of plain requests in worker processes (``processes:`` of a daemon soak).

The VUs, or the rate and ``max_vus``, are split exactly as ``soakmon load --processes`` splits
them (:mod:`monitor.engine.workers`); each worker (:mod:`monitor.daemon.soak_worker`) runs its
share and streams one exact result per window. Windows are on one clock: the daemon passes
its ``time.monotonic()`` at the start (the same clock in every process of the host) as each
worker's ``interval_origin``, so every worker closes its windows at the same instants, whenever
it started, and window k of every worker covers the same span. The daemon adds the workers'
k-th windows into one ``SoakInterval`` (counts, status codes, errors and HdrHistogram encodings
add exactly; its ``monotonic`` is the window's end on the grid) and adds each worker's
per-operation request counts to the request metrics as they arrive (same buckets, sum and
count; each bucket's last trace id as exemplar), so SLOs, burst baselines, stability analyses,
the status API and the metrics see one soak, whatever the number of workers. With the daemon's
requests traced, the workers export their request spans as the daemon does (its tracing
config goes in the plan).

A worker that dies is logged with its pid and exit status; the others are stopped, what every
worker measured is published, and the loop raises :class:`SoakWorkerDied`, so the supervisor
counts it (``soakmon_loop_restarts_total``) and restarts the soak after its backoff. The
daemon's stop (SIGTERM) sends SIGTERM to every worker, which finishes its window and stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from typing import Any

from monitor.daemon.config.targets import Target
from monitor.daemon.config.traffic import Soak
from monitor.engine import ConcurrentResult
from monitor.engine.tracing import RequestTracer
from monitor.engine.wire import absorb_wire
from monitor.engine.workers import Worker, auto_processes, drive, split_plan
from monitor.errors import SoakmonError
from monitor.events import EventBus, SoakInterval
from monitor.observe.metrics import MonitorMetrics, RequestCounts

log = logging.getLogger(__name__)

WORKER_MODULE = "monitor.daemon.soak_worker"
STOP_GRACE_S = 10.0
"""After SIGTERM a worker has this long (beyond its requests' graceful stop) to report."""


class SoakWorkerDied(SoakmonError):
    """A worker process of a soak ended by itself (crashed, killed, out of memory)."""


def processes_of(soak: Soak) -> int:
    """The number of worker processes a soak asks for (``auto``: one per usable CPU)."""
    return auto_processes() if soak.processes == "auto" else int(soak.processes)


class SoakProcesses:
    """Runs one soak of plain requests in worker processes until the daemon stops."""

    def __init__(
        self,
        soak: Soak,
        target: Target,
        *,
        bus: EventBus,
        metrics: MonitorMetrics,
        processes: int,
        tracer: RequestTracer | None = None,
    ) -> None:
        self.soak = soak
        self.tracer = tracer
        """The daemon's request tracer: the workers trace their requests alike (None: not)."""
        self._export_warned = False
        self.target = target
        self.bus = bus
        self.metrics = metrics
        self.shares = split_plan(
            processes,
            vus=(soak.vus or 5) if soak.rate is None else None,
            rate=soak.rate,
            max_vus=soak.max_vus if soak.rate is not None else None,
        )
        self.workers: list[Worker] = []
        self.transport: str | None = None
        self._pending: dict[int, dict[int, dict[str, Any]]] = {}
        self._live: set[int] = set()
        self._reached: dict[int, int] = {}  # each worker's newest window
        self._origin = time.monotonic()

    # -- what the workers report ---------------------------------------------------------------

    def _on_message(self, w: Worker, msg: dict[str, Any]) -> None:
        if "ready" in msg:
            log.info("soak %s: worker %d (pid %s) running %s", self.soak.name, w.index, w.pid,
                     w.share)  # fmt: skip
        elif "transport" in msg:
            self.transport = msg["transport"]["transport"]
        elif "interval" in msg:
            interval = msg["interval"]
            self._count(interval.get("requests", []))
            index = int(interval["index"])
            self._pending.setdefault(index, {})[w.index] = interval
            self._reached[w.index] = index
            self._publish_ready(index)
            if interval.get("spans") and self.tracer is not None:
                self._spans_so_far(w, interval["spans"])

    def _spans_so_far(self, w: Worker, doc: dict[str, Any]) -> None:
        """A worker's span export so far: counted live, its first failure said once."""
        assert self.tracer is not None
        stats = self.tracer.running_worker_spans(f"soak {self.soak.name}/{w.index}", doc)
        if stats.reason and not self._export_warned:
            self._export_warned = True
            log.warning("soak %s: worker tracing: cannot export spans to %s: %s (measurements "
                        "are unaffected; the spans not exported are counted at the end and on "
                        "/metrics)", self.soak.name, stats.endpoint, stats.reason)  # fmt: skip

    def _count(self, entries: list[dict[str, Any]]) -> None:
        for e in entries:
            exemplars = {int(b): (str(t), float(v), float(at))
                         for b, t, v, at in e.get("exemplars", [])}  # fmt: skip
            counts = RequestCounts(int(e["count"]), float(e["sum_s"]), list(e["buckets"]),
                                   exemplars)  # fmt: skip
            self.metrics.observe_request_counts(
                suite="soak", scenario=self.soak.name, operation=e["operation"],
                outcome=e["outcome"], counts=counts, target=self.soak.target,
            )  # fmt: skip

    def _publish_ready(self, newest: int) -> None:
        """Publish, in order, every window each live worker reported or went past (one that
        started later has no part in the first), and any two windows behind the newest (a
        worker that lags that far is left out of it, never waited for forever)."""
        for index in sorted(self._pending):
            done = all(self._reached.get(w, -1) >= index for w in self._live)
            if not (done or index <= newest - 2):
                break  # the later windows wait too: published in order
            self._publish(index)

    def _publish(self, index: int) -> None:
        """Window ``index`` of the grid: the workers' parts cover the same span (seconds
        since :attr:`_origin`; a worker's first part starts later, when it did)."""
        parts = self._pending.pop(index)
        merged = ConcurrentResult(sample_limit=0)
        for part in parts.values():
            absorb_wire(merged, part["result"])
        start = min(float(p["start_s"]) for p in parts.values())
        end = max(float(p["end_s"]) for p in parts.values())
        ended = self._origin + end  # on the monotonic clock, as a window of the daemon's own
        at = time.time() - (time.monotonic() - ended)
        self.bus.publish(
            SoakInterval(
                self.soak.name, self.soak.target, end - start, merged.total, merged.error_count,
                merged.histogram, at, ended, transport=self.transport, workers=len(parts),
            )
        )  # fmt: skip

    # -- running ---------------------------------------------------------------------------------

    def _plan(self) -> dict[str, Any]:
        return {
            "soak": self.soak.model_dump(mode="json", by_alias=True),
            "target": self.target.model_dump(mode="json"),
            "parent": os.getpid(),
            # one grid of windows for every worker, whenever each one gets going
            "interval_origin": self._origin,
            "tracing": self.tracer.worker_plan() if self.tracer is not None else None,
        }

    async def run(self, stop: asyncio.Event) -> None:
        """Soak until ``stop`` is set; a worker that dies raises :class:`SoakWorkerDied`."""
        self._origin = time.monotonic()
        plan = self._plan()
        self.workers = [Worker(i, share, keep_intervals=False) for i, share in
                        enumerate(self.shares)]  # fmt: skip
        self._live = {w.index for w in self.workers}
        self._pending, self._reached = {}, {}
        tasks = {
            asyncio.create_task(
                drive(w, WORKER_MODULE, plan | {"share": w.share, "worker": w.index},
                      self._on_message),
                name=f"soakmon-soak-{self.soak.name}-worker-{w.index}",
            ): w
            for w in self.workers
        }  # fmt: skip
        stopper = asyncio.create_task(stop.wait(), name=f"soakmon-soak-stop-{self.soak.name}")
        died: list[Worker] = []
        try:
            done, _ = await asyncio.wait({*tasks, stopper}, return_when=asyncio.FIRST_COMPLETED)
            died = [w for t, w in tasks.items() if t in done]
            for w in died:
                self._live.discard(w.index)
            await self._stop_all(tasks)
        finally:
            stopper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stopper
            for task in tasks:  # only after an error of our own: drive kills its worker
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for index in sorted(self._pending):  # nothing measured is lost
            self._publish(index)
        if self.tracer is not None:
            for w in self.workers:  # their last report replaces what they said while running
                self.tracer.worker_ended(f"soak {self.soak.name}/{w.index}")
            spans = [w.final["spans"] for w in self.workers if w.final and w.final.get("spans")]
            self.tracer.worker_spans(f"soak {self.soak.name}", spans)
        if died and not stop.is_set():
            reasons = "; ".join(w.describe() for w in died)
            log.error("soak %s: %s", self.soak.name, reasons)
            raise SoakWorkerDied(f"soak {self.soak.name}: {reasons}")

    async def _stop_all(self, tasks: dict[asyncio.Task[None], Worker]) -> None:
        for w in self.workers:
            w.signal(signal.SIGTERM)
        grace = min(self.target.timeout, 5.0) + STOP_GRACE_S
        running = [t for t in tasks if not t.done()]
        if running:
            _, late = await asyncio.wait(running, timeout=grace)
            for task in late:
                w = tasks[task]
                log.warning("soak %s: worker %d (pid %s) did not stop in %.0f s: killed",
                            self.soak.name, w.index, w.pid, grace)  # fmt: skip
                w.signal(signal.SIGKILL)
            if late:
                await asyncio.wait(late, timeout=5.0)
        for task, w in tasks.items():
            if task.done():
                self._live.discard(w.index)
