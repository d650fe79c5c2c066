"""One worker process of a daemon soak with ``processes:`` (``python -m
monitor.daemon.soak_worker PLAN``).

It runs its share of the soak (its VUs, or its part of the rate and ``max_vus``) exactly as the
daemon runs a soak in its own process (:class:`~monitor.daemon.soak.SoakLoop`: same client,
credentials re-read before every request, same transport choice; with the daemon's tracing
config in the plan, request spans exported as the daemon exports its own, flushed before
``final``), and writes JSON lines to stdout: ``ready``, ``transport``,
then per window an ``interval`` (its slot on the parent's grid, its span in seconds since the
parent's ``interval_origin``, the exact result, :mod:`monitor.engine.wire`, and the
requests counted per operation and outcome in the daemon's latency buckets, with each
bucket's last trace id as its exemplar) and, after
SIGTERM, ``final``. It stops when its parent dies (``PR_SET_PDEATHSIG``, and a check of the
parent pid each window), so a killed daemon leaves no load behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from typing import Any

from monitor.daemon.config.targets import Target
from monitor.daemon.config.traffic import Soak
from monitor.daemon.soak import SoakLoop, outcome_label
from monitor.engine import IntervalReport, RequestHooks, RequestRecord
from monitor.engine.aio import run as run_loop
from monitor.engine.tracing import WorkerTracing, trace_id_of
from monitor.engine.wire import result_to_wire
from monitor.engine.workers import die_with_parent, emit, grid_slot
from monitor.events import EventBus
from monitor.observe.metrics import RequestCounts


class Counts:
    """A ``request_done`` listener counting requests per (operation, outcome)."""

    def __init__(self) -> None:
        self._by: dict[tuple[str, str], RequestCounts] = {}

    def __call__(self, record: RequestRecord) -> None:
        key = (record.name, outcome_label(record))
        counts = self._by.get(key)
        if counts is None:
            counts = self._by[key] = RequestCounts()
        seconds = record.duration_ms / 1000.0
        counts.observe(seconds, trace_id_of(record.sent_headers), record.started_at + seconds)

    def drain(self) -> list[dict[str, Any]]:
        """What was counted since the last drain, as JSON."""
        by, self._by = self._by, {}
        return [
            {"operation": op, "outcome": outcome, "count": c.count, "sum_s": c.sum_s,
             "buckets": c.buckets,
             "exemplars": [[b, *exemplar] for b, exemplar in sorted(c.exemplars.items())]}
            for (op, outcome), c in by.items()
        ]  # fmt: skip


def share_of(plan: dict[str, Any]) -> Soak:
    """The worker's soak: the configured one with this worker's VUs or rate."""
    soak = Soak.model_validate(plan["soak"])
    return soak.model_copy(update=plan["share"] | {"processes": 1})


async def run_worker(plan: dict[str, Any]) -> None:
    """Run one worker's share of the soak in ``plan`` until SIGTERM."""
    parent = int(plan["parent"])
    die_with_parent(parent)
    soak = share_of(plan)
    target = Target.model_validate(plan["target"])
    counts = Counts()
    hooks = RequestHooks()
    tracing = None
    if plan.get("tracing") is not None:  # the daemon's tracing config: the same exporter
        tracing = WorkerTracing(plan["tracing"], hooks, worker=int(plan["worker"]))
    hooks.add_request_done(counts)
    stop = asyncio.Event()
    sent = 0

    def on_interval(report: IntervalReport) -> None:
        nonlocal sent
        if loop.transport is not None and sent == 0:
            emit("transport", {"transport": loop.transport})
        # the window's slot on the parent's grid: the same index in every worker
        index = grid_slot(report.start_s, soak.window)
        body = {"index": index, "start_s": report.start_s, "end_s": report.end_s}
        # what became of its spans so far: the daemon says the first failure and counts them
        spans = tracing.provider.export_stats() if tracing is not None else None
        emit("interval", body | {"result": result_to_wire(report.result),
                                  "requests": counts.drain(),
                                  "spans": spans and spans.to_wire()})  # fmt: skip
        sent += 1
        if os.getppid() != parent:
            stop.set()

    loop = SoakLoop(soak, target, bus=EventBus(), hooks=hooks, on_interval=on_interval,
                    interval_origin=float(plan["interval_origin"]))  # fmt: skip
    aio = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        aio.add_signal_handler(sig, stop.set)
    emit("ready", {})
    with tracing.under_parent() if tracing is not None else contextlib.nullcontext():
        await loop.run(stop)
    spans = None
    if tracing is not None:  # every window is in; the spans go (within a bound) before "final"
        spans = await asyncio.to_thread(tracing.flush)
    emit("final", {"windows": sent, "transport": loop.transport, "spans": spans})


def main() -> None:
    plan = json.loads(sys.argv[1])
    run_loop(run_worker(plan), use_uvloop=True)


if __name__ == "__main__":
    main()
