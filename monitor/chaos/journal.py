"""The durable record of active faults: a JSON file in a state directory.

An entry is written (and fsynced) **before** an action is injected and removed after it is
reverted, so a process that dies mid-fault (SIGKILL, OOM, node loss) leaves behind exactly
what the next start must revert. Entries name their owner (pid and process start time): a
start reverts only entries whose owner is gone, so a daemon and a one-shot ``soakmon chaos run``
may share a state directory. Read-modify-write holds an ``flock`` on a lock file beside it.

The directory is ``--state-dir``, else ``$SOAKMON_STATE_DIR``, else
``$XDG_STATE_HOME/soakmon``, else ``~/.local/state/soakmon``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from monitor.chaos.errors import ChaosError

FILE_NAME = "chaos-journal.json"
VERSION = 1


def default_state_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the journal lives when no directory is given."""
    env = os.environ if env is None else env
    if env.get("SOAKMON_STATE_DIR"):
        return Path(env["SOAKMON_STATE_DIR"])
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "soakmon"


def _owner() -> tuple[int, float]:
    pid = os.getpid()
    return pid, psutil.Process(pid).create_time()


def owner_alive(pid: int, started: float) -> bool:
    """The process ``pid`` still exists and is the one that started at ``started``."""
    try:
        return abs(psutil.Process(pid).create_time() - started) < 1.0
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False


@dataclass(slots=True)
class Entry:
    """One action that is (or may be) injected."""

    id: str
    kind: str
    target: str
    experiment: str
    settings: dict[str, Any]
    record: dict[str, Any] = field(default_factory=dict)
    state: str = "preparing"
    """``preparing`` (written before inject: may be half-injected) or ``injected``."""
    started_at: float = field(default_factory=time.time)
    owner_pid: int = 0
    owner_started: float = 0.0

    def orphaned(self) -> bool:
        """Its owner process is gone: nobody will revert it but the next start."""
        return not owner_alive(self.owner_pid, self.owner_started)


class Journal:
    """The journal file of one state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = Path(state_dir)
        self.path = self.dir / FILE_NAME
        self._pid, self._started = _owner()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[list[Entry]]:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            lock = open(self.dir / (FILE_NAME + ".lock"), "a+")  # noqa: SIM115
        except OSError as exc:
            raise ChaosError(f"chaos journal {self.path}: {exc.strerror or exc}") from None
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries = self._read()
            before = [asdict(e) for e in entries]
            yield entries
            if [asdict(e) for e in entries] != before:
                self._write(entries)

    def _read(self) -> list[Entry]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise ChaosError(f"chaos journal {self.path} is unreadable: {exc}") from None
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ChaosError(f"chaos journal {self.path}: unknown format (version {VERSION})")
        return [Entry(**e) for e in data.get("active", [])]

    def _write(self, entries: list[Entry]) -> None:
        tmp = self.path.with_suffix(".tmp")
        payload = {"version": VERSION, "active": [asdict(e) for e in entries]}
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        with contextlib.suppress(OSError):  # the rename itself durable
            fd = os.open(self.dir, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    # -- API ----------------------------------------------------------------------------------

    def entries(self) -> list[Entry]:
        """Every entry, live owners' and orphans'."""
        with self._locked() as entries:
            return list(entries)

    def add(self, entry: Entry) -> Entry:
        """Record ``entry`` as owned by this process (before it is injected)."""
        entry.owner_pid, entry.owner_started = self._pid, self._started
        with self._locked() as entries:
            entries[:] = [e for e in entries if e.id != entry.id] + [entry]
        return entry

    def update(self, id: str, *, record: Mapping[str, Any], state: str) -> None:
        with self._locked() as entries:
            for e in entries:
                if e.id == id:
                    e.record = dict(record)
                    e.state = state

    def remove(self, id: str) -> None:
        with self._locked() as entries:
            entries[:] = [e for e in entries if e.id != id]

    def busy_with(self, target: str, experiment: str) -> Entry | None:
        """An entry of another experiment on ``target`` whose owner is alive (or any orphan on
        it: it must be reverted first)."""
        for e in self.entries():
            if e.target == target and (e.experiment != experiment or e.orphaned()):
                return e
        return None

    def orphans(self) -> list[Entry]:
        """Entries whose owner process is gone."""
        return [e for e in self.entries() if e.orphaned()]


__all__ = ["Entry", "Journal", "default_state_dir", "owner_alive"]
