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
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from monitor.engine import ConcurrentResult, ExecutorStats
from monitor.engine.wire import absorb_wire, merge_stats

STDERR_TAIL = 2000


def auto_processes() -> int:
    """The CPUs this process may run on (``--processes auto``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def split_exact(total: int, parts: int) -> list[int]:
    """``total`` in ``parts`` integers that differ by at most 1 and sum to ``total``."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def split_plan(
    processes: int, *, vus: int | None, rate: float | None, max_vus: int | None
) -> list[dict[str, Any]]:
    """Each worker's share: ``{"vus"}`` or ``{"rate", "max_vus"}``."""
    if rate is not None:
        most = max_vus if max_vus is not None else 0
        n = processes if max_vus is None else min(processes, max_vus)
        shares = split_exact(most, n) if max_vus is not None else [0] * n
        return [{"rate": rate / n, "max_vus": shares[i]} for i in range(n)]
    total = vus or 1
    return [{"vus": v} for v in split_exact(total, min(processes, total))]


@dataclass(slots=True)
class Worker:
    index: int
    share: dict[str, Any]
    proc: asyncio.subprocess.Process | None = None
    final: dict[str, Any] | None = None
    progress: dict[str, Any] = field(default_factory=dict)
    intervals: list[dict[str, Any]] = field(default_factory=list)
    stderr: str = ""
    returncode: int | None = None
    ready: bool = False  # it handles SIGTERM (a graceful stop) from now on

    @property
    def died(self) -> bool:
        return self.final is None

    def describe(self) -> str:
        pid = self.proc.pid if self.proc is not None else "?"
        code = self.returncode
        how = (
            f"killed by {signal.Signals(-code).name}"
            if code is not None and code < 0
            else f"exit code {code}"
        )
        tail = self.stderr.strip().splitlines()[-1:] if self.stderr.strip() else []
        return f"worker {self.index} (pid {pid}) died: {how}" + (f": {tail[0]}" if tail else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "pid": self.proc.pid if self.proc is not None else None,
            **self.share,
            "status": "died" if self.died else "ok",
            "exit_code": self.returncode,
            "requests": self.requests,
        } | ({"error": self.describe()} if self.died else {})

    @property
    def requests(self) -> int:
        """Requests this worker finished (its final result, else its last progress)."""
        if self.final is not None:
            res = self.final["result"]
            return int(res["success_count"]) + int(res["error_count"])
        return int(self.progress.get("requests", 0))


@dataclass(slots=True)
class MergedRun:
    """Everything the workers reported, merged."""

    result: ConcurrentResult
    stats: ExecutorStats
    fast_path: bool
    workers: list[Worker]
    intervals: list[dict[str, Any]]

    @property
    def dead(self) -> list[Worker]:
        return [w for w in self.workers if w.died]


ProgressSink = Callable[[dict[str, float]], None]


async def run_workers(
    base_plan: dict[str, Any],
    shares: list[dict[str, Any]],
    *,
    on_progress: ProgressSink | None = None,
) -> MergedRun:
    """Start one worker per share, relay signals, merge what they report."""
    workers = [Worker(i, share) for i, share in enumerate(shares)]
    loop = asyncio.get_running_loop()
    signals_seen = 0

    def signal_worker(w: Worker) -> None:
        # SIGTERM only once the worker handles it (it says "ready"); SIGKILL at once
        if signals_seen == 0 or (signals_seen == 1 and not w.ready):
            return
        if w.proc is not None and w.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                w.proc.send_signal(signal.SIGTERM if signals_seen == 1 else signal.SIGKILL)

    def forward(sig: signal.Signals) -> None:
        nonlocal signals_seen
        signals_seen += 1
        for w in workers:
            signal_worker(w)

    def progress_changed() -> None:
        if on_progress is None:
            return
        keys = ("requests", "errors", "iterations", "dropped", "active_vus")
        total = {k: float(sum(w.progress.get(k, 0) for w in workers)) for k in keys}
        total["elapsed"] = max(float(w.progress.get("elapsed", 0.0)) for w in workers)
        on_progress(total)

    async def drive(w: Worker) -> None:
        plan = base_plan | w.share | {"worker": w.index}
        w.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "monitor.cli.load_worker",
            json.dumps(plan),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # Ctrl-C reaches the parent only; it forwards SIGTERM
        )
        assert w.proc.stdout is not None
        assert w.proc.stderr is not None
        err_task = asyncio.ensure_future(w.proc.stderr.read())
        while line := await w.proc.stdout.readline():
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if "ready" in msg:
                w.ready = True
                signal_worker(w)  # a stop asked for while it was starting
            elif "progress" in msg:
                w.progress = msg["progress"]
                progress_changed()
            elif "interval" in msg:
                w.intervals.append(msg["interval"])
            elif "final" in msg:
                w.final = msg["final"]
        w.returncode = await w.proc.wait()
        w.stderr = (await err_task).decode(errors="replace")[-STDERR_TAIL:]

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, forward, sig)
    try:
        await asyncio.gather(*(drive(w) for w in workers))
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        for w in workers:  # only after an error of our own: never leave a worker behind
            if w.proc is not None and w.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    w.proc.kill()
                await w.proc.wait()
    return merge(workers)


def merge(workers: list[Worker]) -> MergedRun:
    """Exact totals: each finished worker's final result; a dead worker's streamed intervals."""
    result = ConcurrentResult(sample_limit=0)
    stats: list[dict[str, Any]] = []
    by_start: dict[float, tuple[float, ConcurrentResult]] = {}
    for w in workers:
        if w.final is not None:
            absorb_wire(result, w.final["result"])
            stats.append(w.final["stats"])
        else:
            for interval in w.intervals:
                absorb_wire(result, interval["result"])
        for interval in w.intervals:
            start = round(float(interval["start_s"]), 3)
            _end, part = by_start.setdefault(
                start, (float(interval["end_s"]), ConcurrentResult(sample_limit=0))
            )
            absorb_wire(part, interval["result"])
    merged_stats = merge_stats(stats) if stats else _empty_stats(workers)
    intervals = [
        {"start_s": start, "end_s": round(end, 3), **part.to_dict()}
        for start, (end, part) in sorted(by_start.items())
    ]
    fast = all(bool(w.final["fast_path"]) for w in workers if w.final is not None)
    return MergedRun(result, merged_stats, fast and bool(stats), workers, intervals)


def _empty_stats(workers: list[Worker]) -> ExecutorStats:
    elapsed = max((float(w.progress.get("elapsed", 0.0)) for w in workers), default=0.0)
    return ExecutorStats("none", 0, 0, 0, 0, elapsed, elapsed, 0.0, 0)
