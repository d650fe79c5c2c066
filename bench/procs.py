"""Process plumbing for the benchmarks: free ports, services, measured child runs.

Every child runs in its own session so that it and anything it forks can be stopped as a group;
nothing outlives the benchmark.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

GENERATOR_CORE = 0
TARGET_CORE = 1


class BenchError(RuntimeError):
    """A benchmark step could not run (missing program, child failed, port never opened)."""


PYCACHE = Path(tempfile.gettempdir()) / "soakmon-bench-pycache"


def child_env() -> dict[str, str]:
    """The environment for measured children: bytecode cached in a private directory.

    With ``PYTHONDONTWRITEBYTECODE`` set (as on the team's machines) every Python generator
    would recompile all its modules at each start and bill that CPU to the run; an installed
    package has its bytecode, so the children get a private ``PYTHONPYCACHEPREFIX`` instead.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPYCACHEPREFIX=str(PYCACHE), PYTHONUNBUFFERED="1", NO_COLOR="1")
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, *, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BenchError(
                f"process {proc.args!r} exited with {proc.returncode} before listening"
            )
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise BenchError(f"nothing listened on 127.0.0.1:{port} after {timeout:.0f} s")


def require_program(name: str) -> str:
    """The full path of a system program, or a BenchError telling how to install it."""
    path = shutil.which(name) or shutil.which(name, path="/usr/local/sbin:/usr/sbin:/sbin")
    if path is None:
        raise BenchError(f"{name} is not installed (run: scripts/system-deps.sh bench)")
    return path


def pinned(core: int | str, argv: Sequence[str]) -> list[str]:
    """``argv`` run under ``taskset -c core`` (a core or a list such as ``0,1``; taskset execs,
    so the pid stays the program's)."""
    return [require_program("taskset"), "-c", str(core), *argv]


def raise_nofile(limit: int) -> int:
    """Raise this process's RLIMIT_NOFILE to at least ``limit`` (children inherit it).

    Raising the hard limit needs root (CAP_SYS_RESOURCE); otherwise the soft limit goes up to
    the hard one. Returns the soft limit now in force.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(limit, soft)
    if hard != resource.RLIM_INFINITY and hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return want
        except (ValueError, OSError):
            want = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


def stop_group(proc: subprocess.Popen[bytes], *, grace: float = 3.0) -> None:
    """SIGTERM the child's process group, then SIGKILL it after ``grace`` seconds."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(grace)
    else:  # the leader is gone; make sure nothing it forked is left
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def service(
    argv: Sequence[str],
    *,
    port: int,
    log: Path,
    start_timeout: float = 15.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` as a background service listening on ``port``; stop it on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=child_env(),
            start_new_session=True,
        )
    try:
        try:
            wait_port(port, timeout=start_timeout, proc=proc)
        except BenchError as exc:
            raise BenchError(f"{exc}; log: {_tail(log)}") from None
        yield proc
    finally:
        stop_group(proc)


@dataclass(slots=True)
class Measured:
    """What one measured child run used and printed."""

    argv: list[str]
    returncode: int
    wall_s: float
    cpu_s: float  # user + system CPU seconds of the child (and children it reaped), from wait4
    max_rss_kib: int
    steady_cpu_util: float | None  # CPU share of one core over the middle of the run
    stdout: str
    stderr: str
    timed_out: bool = False
    samples: list[tuple[float, float]] = field(default_factory=list)  # (elapsed_s, cpu_s)


def steady_util(samples: Sequence[tuple[float, float]]) -> float | None:
    """CPU share over the middle 60 % of a run (skips start-up and shutdown), from samples."""
    if len(samples) < 4:
        return None
    end = samples[-1][0]
    window = [s for s in samples if 0.25 * end <= s[0] <= 0.85 * end]
    if len(window) < 2 or window[-1][0] <= window[0][0]:
        return None
    return (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0])


def run_measured(
    argv: Sequence[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    sample_every: float = 0.1,
    children_cores: Sequence[int] = (),
) -> Measured:
    """Run ``argv`` to completion, measuring its CPU time exactly (``os.wait4`` rusage).
    ``children_cores``: pin each child process it starts, in the order they appear, to the
    next of these cores (checked at every sample)."""
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        out_path, err_path = Path(tmp) / "out", Path(tmp) / "err"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            started = time.monotonic()
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=cwd,
                env=child_env() if env is None else env,
                start_new_session=True,
            )
        samples: list[tuple[float, float]] = []
        pinned_pids: list[int] = []
        ps = _ps(proc.pid)
        timed_out = False
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid == proc.pid:
                    break
                elapsed = time.monotonic() - started
                if elapsed > timeout and not timed_out:
                    timed_out = True
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                if ps is not None:
                    with contextlib.suppress(psutil.Error):
                        samples.append((elapsed, tree_cpu(ps)))
                    if children_cores:
                        pin_children(ps, children_cores, pinned_pids)
                time.sleep(sample_every)
        except BaseException:  # Ctrl-C: the child has its own session, stop it here
            stop_group(proc, grace=1.0)
            raise
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # stragglers the child forked
        return Measured(
            argv=list(argv),
            returncode=proc.returncode,
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            max_rss_kib=int(usage.ru_maxrss),
            steady_cpu_util=steady_util(samples),
            stdout=out_path.read_text(errors="replace"),
            stderr=err_path.read_text(errors="replace"),
            timed_out=timed_out,
            samples=samples,
        )


def pin_children(ps: psutil.Process, cores: Sequence[int], done: list[int]) -> None:
    """Pin each child of ``ps`` not pinned yet to the next core of ``cores`` (round robin)."""
    with contextlib.suppress(psutil.Error):
        for child in sorted(ps.children(), key=lambda c: c.pid):
            if child.pid in done:
                continue
            with contextlib.suppress(psutil.Error):
                child.cpu_affinity([cores[len(done) % len(cores)]])
                done.append(child.pid)


def tree_cpu(ps: psutil.Process) -> float:
    """CPU seconds of ``ps`` and its live descendants (``soakmon load --processes N``)."""
    cpu = ps.cpu_times()
    total = cpu.user + cpu.system + cpu.children_user + cpu.children_system
    for child in ps.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            c = child.cpu_times()
            total += c.user + c.system
    return total


def _ps(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def _tail(path: Path, lines: int = 8) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


def machine_load() -> dict[str, Any]:
    """Load averages and whole-machine CPU use right now (the machine is shared)."""
    one, five, fifteen = os.getloadavg()
    return {
        "loadavg_1m": round(one, 2),
        "loadavg_5m": round(five, 2),
        "loadavg_15m": round(fifteen, 2),
        "cpu_percent_per_core": psutil.cpu_percent(interval=1.0, percpu=True),
    }
