"""Process faults (psutil): ``process-kill`` (a signal, then a restart command after the
step's duration) and ``process-pause`` (SIGSTOP for the duration, SIGCONT on revert).

Processes are found by ``pid`` or by ``match``, a substring of the command line (found again
after a restart). soakmon itself and its ancestors are never signalled (the ``own-process``
guard). Each pid is remembered with its start time, so a revert after a crash never signals an
unrelated process that reused the pid.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import psutil
from pydantic import Field, model_validator

from monitor.chaos.action import Action, ActionContext, ActionScope, Record
from monitor.chaos.errors import ActionError
from monitor.chaos.registry import ActionSettings, action_kind

_SIGNALS = ("SIGKILL", "SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP")


class ProcessSelector(ActionSettings):
    pid: Annotated[int, Field(gt=1)] | None = None
    """Process id. Default: none."""
    match: Annotated[str, Field(min_length=1)] | None = None
    """Substring of the command line (e.g. `soakmon target serve --port 8080`). Default: none."""
    count: Annotated[int, Field(gt=0)] | None = None
    """At most this many of the matching processes (oldest first). Default: all."""

    @model_validator(mode="after")
    def _one(self) -> ProcessSelector:
        if (self.pid is None) == (self.match is None):
            raise ValueError("give exactly one of `pid` and `match`")
        return self

    def what(self) -> str:
        return f"pid {self.pid}" if self.pid is not None else f"processes matching {self.match!r}"


def _protected() -> set[int]:
    me = psutil.Process(os.getpid())
    return {me.pid, *(p.pid for p in me.parents())}


def _cmdline(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return ""


def find(sel: ProcessSelector) -> list[psutil.Process]:
    """Live processes selected by ``sel`` (never soakmon itself or its ancestors)."""
    protected = _protected()
    if sel.pid is not None:
        try:
            found = [psutil.Process(sel.pid)]
        except psutil.NoSuchProcess:
            return []
    else:
        assert sel.match is not None
        found = [
            p for p in psutil.process_iter() if p.pid not in protected and sel.match in _cmdline(p)
        ]
    found = [p for p in found if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    found.sort(key=lambda p: p.create_time())
    return found[: sel.count] if sel.count else found


def _record(procs: Sequence[psutil.Process]) -> Record:
    return {"pids": [[p.pid, p.create_time(), _cmdline(p)[:300]] for p in procs]}


def _same(pid: int, started: float) -> psutil.Process | None:
    """The process ``pid`` if it is still the one that started at ``started``."""
    try:
        proc = psutil.Process(pid)
        return proc if abs(proc.create_time() - started) < 1.0 else None
    except psutil.NoSuchProcess:
        return None


def _pid_scopes(record: Record | None, sel: ProcessSelector) -> list[ActionScope]:
    if record is None:
        return [ActionScope("pid", str(sel.pid))] if sel.pid is not None else []
    return [ActionScope("pid", str(pid)) for pid, _, _ in record.get("pids", [])]


class KillSettings(ProcessSelector):
    signal: str = "SIGKILL"
    """Signal to send: SIGKILL, SIGTERM, SIGINT, SIGQUIT or SIGHUP. Default: SIGKILL."""
    restart: list[str] | str | None = None
    """Command that starts the process again when the step's duration is over (a list of
    arguments, or one string split like a shell would); run detached, only when no process
    matches `match` any more. Default: none (something else restarts it)."""
    cwd: Path | None = None
    """Working directory of the restart command. Default: soakmon's."""
    env: dict[str, str] = Field(default_factory=dict)
    """Extra environment of the restart command. Default: none."""
    log: Path | None = None
    """File the restarted process writes its output to (appended). Default: discarded."""

    @model_validator(mode="after")
    def _restartable(self) -> KillSettings:
        if self.signal not in _SIGNALS:
            raise ValueError(f"signal must be one of {', '.join(_SIGNALS)}")
        if self.restart is not None and self.match is None:
            raise ValueError("`restart` needs `match` (to see whether the process is back)")
        if isinstance(self.restart, list) and not self.restart:
            raise ValueError("`restart` is an empty command")
        return self

    def argv(self) -> list[str]:
        if isinstance(self.restart, str):
            return shlex.split(self.restart)
        return list(self.restart or [])


@action_kind("process-kill", settings=KillSettings, instant=True)
class ProcessKill(Action[KillSettings]):
    """Kill a local process (SIGKILL by default); run its restart command after the duration."""

    def describe(self) -> str:
        s = self.settings
        then = f", then run `{shlex.join(s.argv())}`" if s.restart else ""
        return f"send {s.signal} to {s.what()}{then}"

    def scopes(self, record: Record | None = None) -> list[ActionScope]:
        return _pid_scopes(record, self.settings)

    async def prepare(self, ctx: ActionContext) -> Record:
        procs = find(self.settings)
        if not procs:
            raise ActionError(f"process-kill: no process: {self.settings.what()}")
        return _record(procs)

    async def inject(self, ctx: ActionContext, record: Record) -> None:
        sig = signal.Signals[self.settings.signal]
        procs = [p for pid, t, _ in record["pids"] if (p := _same(pid, t)) is not None]
        for proc in procs:
            try:
                proc.send_signal(sig)
            except psutil.NoSuchProcess:
                continue
        if sig == signal.SIGKILL:
            await _gone(procs, 10.0)

    async def revert(self, ctx: ActionContext, record: Record) -> None:
        s = self.settings
        if not s.restart or find(s.model_copy(update={"count": None})):
            return  # nothing to restart, or it is back already
        child = _spawn(s)
        record["restarted"] = [child.pid, time.time()]


async def _gone(procs: Sequence[psutil.Process], timeout_s: float) -> None:
    """Wait until ``procs`` are gone or zombies (a parent that is not us reaps them)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in procs):
            return
        await asyncio.sleep(0.02)


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _spawn(s: KillSettings) -> subprocess.Popen[bytes]:
    """Start the restart command detached (its own session: it outlives soakmon)."""
    out: Any = subprocess.DEVNULL
    if s.log is not None:
        out = open(s.log, "ab")  # noqa: SIM115 - handed to the child
    try:
        child = subprocess.Popen(
            s.argv(), cwd=s.cwd, env={**os.environ, **s.env}, stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
        )  # fmt: skip
    except OSError as exc:
        raise ActionError(f"process-kill: restart `{shlex.join(s.argv())}`: {exc}") from None
    finally:
        if out is not subprocess.DEVNULL:
            out.close()
    _reap_later(child)
    return child


def _reap_later(child: subprocess.Popen[bytes]) -> None:
    """Collect the restarted child's exit status whenever it ends (no zombie)."""
    import threading

    threading.Thread(target=child.wait, daemon=True, name=f"reap-{child.pid}").start()


class PauseSettings(ProcessSelector):
    pass


@action_kind("process-pause", settings=PauseSettings)
class ProcessPause(Action[PauseSettings]):
    """Freeze a local process (SIGSTOP) for the duration; SIGCONT on revert."""

    def describe(self) -> str:
        return f"SIGSTOP {self.settings.what()} (SIGCONT on revert)"

    def scopes(self, record: Record | None = None) -> list[ActionScope]:
        return _pid_scopes(record, self.settings)

    async def prepare(self, ctx: ActionContext) -> Record:
        procs = find(self.settings)
        if not procs:
            raise ActionError(f"process-pause: no process: {self.settings.what()}")
        return _record(procs)

    async def inject(self, ctx: ActionContext, record: Record) -> None:
        self._signal(record, signal.SIGSTOP)

    async def revert(self, ctx: ActionContext, record: Record) -> None:
        self._signal(record, signal.SIGCONT)

    @staticmethod
    def _signal(record: Record, sig: signal.Signals) -> None:
        for pid, started, _ in record.get("pids", []):
            proc = _same(pid, started)
            if proc is not None:
                try:
                    proc.send_signal(sig)
                except psutil.NoSuchProcess:
                    continue
