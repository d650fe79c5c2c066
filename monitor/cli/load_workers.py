"""``soakmon load --processes N``: N worker processes, one merged report and progress view.

The VUs (closed model) or the arrival rate and ``--max-vus`` (open model) are split exactly
across the workers (remainders go to the first ones; never more workers than VUs). Each worker
(:mod:`monitor.cli.load_worker`) streams progress, one exact result per second and its exact
final result as JSON lines; the parent adds them up: counts, status codes, error counts and
HdrHistogram encodings add exactly, so merged percentiles equal those of a single histogram
over every latency. Ctrl-C or SIGTERM are passed on as SIGTERM (each worker stops gracefully
and still reports; one still starting gets it once it can handle it); a second one kills the
workers. A worker that dies is reported by index, pid and exit status, and what it measured
until its last interval is kept.

Intervals are aligned on one clock: the parent passes its ``time.monotonic()`` at the start
(the same clock in every process of the host) as each worker's ``interval_origin``, so every
worker closes its intervals at the same instants, whenever it started; the k-th intervals of
all workers cover the same second and are added into one.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from monitor.engine import ConcurrentResult, ExecutorStats
from monitor.engine.wire import absorb_wire, merge_stats
from monitor.engine.workers import (
    Worker,
    auto_processes,
    drive,
    grid_slot,
    split_exact,
    split_plan,
)

__all__ = ["MergedRun", "Worker", "auto_processes", "merge", "run_workers", "split_exact",
           "split_plan"]  # fmt: skip


@dataclass(slots=True)
class MergedRun:
    """Everything the workers reported, merged."""

    result: ConcurrentResult
    stats: ExecutorStats
    fast_path: bool
    workers: list[Worker]
    intervals: list[dict[str, Any]]
    stopped_by: str | None = None
    """The signal (SIGINT, SIGTERM) that stopped the run before its duration, if any."""

    @property
    def dead(self) -> list[Worker]:
        return [w for w in self.workers if w.died]


ProgressSink = Callable[[dict[str, float]], None]
WORKER_MODULE = "monitor.cli.load_worker"
INTERVAL_S = 1.0
"""Seconds per streamed interval."""


async def run_workers(
    base_plan: dict[str, Any],
    shares: list[dict[str, Any]],
    *,
    on_progress: ProgressSink | None = None,
) -> MergedRun:
    """Start one worker per share, relay signals, merge what they report."""
    workers = [Worker(i, share) for i, share in enumerate(shares)]
    # one grid for every worker's intervals, whenever each one gets going
    base_plan = base_plan | {"interval_s": INTERVAL_S, "interval_origin": time.monotonic()}
    loop = asyncio.get_running_loop()
    signals_seen = 0
    stopped_by: str | None = None

    def signal_worker(w: Worker) -> None:
        # SIGTERM only once the worker handles it (it says "ready"); SIGKILL at once
        if signals_seen == 0 or (signals_seen == 1 and not w.ready):
            return
        w.signal(signal.SIGTERM if signals_seen == 1 else signal.SIGKILL)

    def forward(sig: signal.Signals) -> None:
        nonlocal signals_seen, stopped_by
        signals_seen += 1
        stopped_by = stopped_by or sig.name
        for w in workers:
            signal_worker(w)

    def progress_changed() -> None:
        if on_progress is None:
            return
        keys = ("requests", "errors", "iterations", "dropped", "active_vus")
        total = {k: float(sum(w.progress.get(k, 0) for w in workers)) for k in keys}
        total["elapsed"] = max(float(w.progress.get("elapsed", 0.0)) for w in workers)
        on_progress(total)

    def on_message(w: Worker, msg: dict[str, Any]) -> None:
        if "ready" in msg:
            signal_worker(w)  # a stop asked for while it was starting
        elif "progress" in msg:
            progress_changed()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, forward, sig)
    try:
        await asyncio.gather(
            *(drive(w, WORKER_MODULE, base_plan | w.share | {"worker": w.index}, on_message)
              for w in workers)
        )  # fmt: skip
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    merged = merge(workers)
    merged.stopped_by = stopped_by
    return merged


def merge(workers: list[Worker]) -> MergedRun:
    """Exact totals: each finished worker's final result; a dead worker's streamed intervals.
    The workers' intervals are added by their slot on the shared grid (seconds since the
    parent's start, see the module doc)."""
    result = ConcurrentResult(sample_limit=0)
    stats: list[dict[str, Any]] = []
    by_slot: dict[int, tuple[float, float, ConcurrentResult]] = {}
    for w in workers:
        if w.final is not None:
            absorb_wire(result, w.final["result"])
            stats.append(w.final["stats"])
        else:
            for interval in w.intervals:
                absorb_wire(result, interval["result"])
        for interval in w.intervals:
            start, end = float(interval["start_s"]), float(interval["end_s"])
            slot = grid_slot(start, INTERVAL_S)
            first, last, part = by_slot.get(slot, (start, end, None))
            if part is None:
                part = ConcurrentResult(sample_limit=0)
            absorb_wire(part, interval["result"])
            by_slot[slot] = (min(first, start), max(last, end), part)
    merged_stats = merge_stats(stats) if stats else _empty_stats(workers)
    intervals = [
        {"start_s": round(start, 3), "end_s": round(end, 3), **part.to_dict()}
        for _slot, (start, end, part) in sorted(by_slot.items())
    ]
    fast = all(bool(w.final["fast_path"]) for w in workers if w.final is not None)
    return MergedRun(result, merged_stats, fast and bool(stats), workers, intervals)


def _empty_stats(workers: list[Worker]) -> ExecutorStats:
    elapsed = max((float(w.progress.get("elapsed", 0.0)) for w in workers), default=0.0)
    return ExecutorStats("none", 0, 0, 0, 0, elapsed, elapsed, 0.0, 0)
