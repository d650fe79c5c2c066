"""Load in worker processes: exact splitting of VUs or rate, and driving one worker process.

Shared by ``soakmon load --processes N`` (:mod:`monitor.cli.load_workers`) and the daemon's
plain soaks with ``processes:`` (:mod:`monitor.daemon.soak_processes`). A worker is
``python -m MODULE PLAN_JSON`` writing JSON lines to stdout: ``ready`` (it handles SIGTERM
from now on), ``progress``, ``interval`` (the exact result of the requests that finished in
it, as :mod:`monitor.engine.wire` encodes it) and ``final``. Results add exactly: counts,
status codes, error counts and HdrHistogram encodings, so merged percentiles are those of one
histogram over every latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.errors import SoakmonError

logger = logging.getLogger(__name__)

STDERR_TAIL = 2000
LINE_MOST = 2**28
"""The longest message line a parent takes from a worker (256 MiB); a longer one is an error
naming the worker, never a line cut short."""


class WorkerLineTooLong(SoakmonError):
    """A worker wrote a message line longer than the parent takes."""


async def _next_line(w: Worker) -> bytes:
    assert w.proc is not None
    assert w.proc.stdout is not None
    try:
        return await read_line(w.proc.stdout)
    except WorkerLineTooLong as exc:
        raise WorkerLineTooLong(f"worker {w.index} (pid {w.pid}) wrote {exc}") from None


def emit(kind: str, body: dict[str, Any]) -> None:
    """In a worker: write one message line ``{kind: body}`` to stdout and flush it."""
    sys.stdout.write(json.dumps({kind: body}, separators=(",", ":")) + "\n")
    sys.stdout.flush()


async def read_line(stream: asyncio.StreamReader, most: int = LINE_MOST) -> bytes:
    """The next line of ``stream`` however long (up to ``most`` bytes; b"" at its end).

    ``StreamReader.readline`` raises ``ValueError`` for a line longer than the reader's
    ``limit`` and throws away what it buffered, so whoever reads on gets the line's tail as a
    line of its own: a message over the limit came out cut short (a suite worker's results of
    200-260 KB against a 64 KiB limit). Here a long line is gathered piece by piece.
    """
    parts: list[bytes] = []
    size = 0
    while True:
        try:
            part = await stream.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:  # the end: what is left, without newline
            part = exc.partial
        except asyncio.LimitOverrunError as exc:  # no newline in the buffer yet: take it all
            part = await stream.readexactly(exc.consumed)
            size += len(part)
            if size > most:
                raise WorkerLineTooLong(f"a message line longer than {most} bytes") from None
            parts.append(part)
            continue
        if not parts:
            return part
        parts.append(part)
        return b"".join(parts)


def die_with_parent(parent: int) -> None:
    """In a worker: be sent SIGTERM when the parent process dies (Linux ``PR_SET_PDEATHSIG``),
    and exit at once if it already did, so a killed parent leaves no load behind."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # not Linux: the exit check alone
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        sys.exit(0)


def cgroup_cpus(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The CPU limit of this process's cgroup (a container's ``resources.limits.cpu``), or
    None when there is none: cgroup v2 ``cpu.max``, else v1 ``cpu.cfs_quota_us``."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


def auto_processes() -> int:
    """``processes: auto``: the CPUs this process may run on, capped by its cgroup's CPU limit
    (rounded up; a pod limited to 1.5 CPUs on a 16-core node gets 2, not 16)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    limit = cgroup_cpus()
    if limit is not None:
        cpus = min(cpus, max(1, math.ceil(limit)))
    return cpus


def split_exact(total: int, parts: int) -> list[int]:
    """``total`` in ``parts`` integers that differ by at most 1 and sum to ``total``."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def split_plan(
    processes: int, *, vus: int | None, rate: float | None, max_vus: int | None
) -> list[dict[str, Any]]:
    """Each worker's share: ``{"vus"}`` or ``{"rate", "max_vus"}`` (remainders to the first
    workers; never more workers than VUs)."""
    if rate is not None:
        most = max_vus if max_vus is not None else 0
        n = processes if max_vus is None else min(processes, max_vus)
        shares = split_exact(most, n) if max_vus is not None else [0] * n
        return [{"rate": rate / n, "max_vus": shares[i]} for i in range(n)]
    total = vus or 1
    return [{"vus": v} for v in split_exact(total, min(processes, total))]


def grid_slot(start_s: float, interval_s: float) -> int:
    """Which interval of a grid shared by worker processes one starting at ``start_s``
    (seconds since the grid's origin, a ``time.monotonic()`` reading every process of the
    host shares) is: a worker's first interval starts off the grid, the others on an edge."""
    return math.floor(start_s / interval_s + 1e-6)


def on_grid(at_s: float, interval_s: float) -> bool:
    """Whether ``at_s`` (seconds since the origin) is an edge of the grid."""
    steps = at_s / interval_s
    return abs(steps - round(steps)) < 1e-6


@dataclass(slots=True)
class Worker:
    """One worker process and what it reported."""

    index: int
    share: dict[str, Any]
    proc: asyncio.subprocess.Process | None = None
    final: dict[str, Any] | None = None
    progress: dict[str, Any] = field(default_factory=dict)
    intervals: list[dict[str, Any]] = field(default_factory=list)
    stderr: str = ""
    returncode: int | None = None
    ready: bool = False  # it handles SIGTERM (a graceful stop) from now on
    keep_intervals: bool = True
    """Keep every ``interval`` in :attr:`intervals` (a run of bounded length; a daemon's
    endless soak hands them to ``on_message`` instead)."""

    @property
    def died(self) -> bool:
        """It ended without its final result (killed, crashed, or never started)."""
        return self.final is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def describe(self) -> str:
        """``worker 1 (pid 123) died: killed by SIGKILL: <its last stderr line>``."""
        code = self.returncode
        how = (
            f"killed by {signal.Signals(-code).name}"
            if code is not None and code < 0
            else f"exit code {code}"
        )
        tail = self.stderr.strip().splitlines()[-1:] if self.stderr.strip() else []
        pid = self.pid if self.pid is not None else "?"
        return f"worker {self.index} (pid {pid}) died: {how}" + (f": {tail[0]}" if tail else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "pid": self.pid,
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

    def signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` to the worker if it still runs."""
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)


Listener = Callable[[Worker, dict[str, Any]], None]


async def drive(
    w: Worker,
    module: str,
    plan: dict[str, Any],
    on_message: Listener | None = None,
    *,
    stdin: bool = False,
) -> None:
    """Run worker ``w`` (``python -m module plan``) to its end, keeping what it reports;
    ``on_message(w, msg)`` sees each message after ``w`` took it in. Cancelled: the worker is
    killed. ``stdin``: the worker reads what the parent writes to ``w.proc.stdin``."""
    w.proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        json.dumps(plan),
        stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # Ctrl-C reaches the parent only; it passes stops on
        limit=2**16,  # the read buffer: read_line gathers a longer line piece by piece
    )
    assert w.proc.stdout is not None
    assert w.proc.stderr is not None
    err_task = asyncio.ensure_future(w.proc.stderr.read())
    try:
        while line := await _next_line(w):
            try:
                msg = json.loads(line)
            except ValueError:  # not a message (a library's print): the protocol goes on
                logger.warning("worker %s (pid %s) wrote a line that is no message: %.200r",
                               w.index, w.pid, line)  # fmt: skip
                continue
            if "ready" in msg:
                w.ready = True
            elif "progress" in msg:
                w.progress = msg["progress"]
            elif "interval" in msg and w.keep_intervals:
                w.intervals.append(msg["interval"])
            elif "final" in msg:
                w.final = msg["final"]
            if on_message is not None:
                on_message(w, msg)
        w.returncode = await w.proc.wait()
        w.stderr = (await err_task).decode(errors="replace")[-STDERR_TAIL:]
    finally:
        if w.proc.returncode is None:  # cancelled, or an error of our own: never leave it
            with contextlib.suppress(ProcessLookupError):
                w.proc.kill()
            await w.proc.wait()
            w.returncode = w.proc.returncode
        if not err_task.done():
            err_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await err_task
