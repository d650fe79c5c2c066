"""Process memory through psutil: the daemon itself, or a local target process."""

from __future__ import annotations

import psutil

from monitor.observe.probes.base import ProbeError


class SelfMemoryProbe:
    """The daemon's own resident and virtual memory."""

    def __init__(self, name: str = "self") -> None:
        self.name = name
        self._proc = psutil.Process()

    async def read(self) -> dict[str, float]:
        mem = self._proc.memory_info()
        return {"rss_bytes": float(mem.rss), "vms_bytes": float(mem.vms)}


class ProcessMemoryProbe:
    """A local process's resident memory, found by pid or by name (``cmdline`` substring).

    A restarted process gets a new pid: by name the probe finds it again by itself.
    """

    def __init__(self, name: str, *, pid: int | None = None, match: str | None = None) -> None:
        if (pid is None) == (match is None):
            raise ValueError("a process probe needs exactly one of pid and match")
        self.name = name
        self._pid = pid
        self._match = match
        self._proc: psutil.Process | None = None

    def _find(self) -> psutil.Process:
        if self._proc is not None and self._proc.is_running():
            return self._proc
        if self._pid is not None:
            try:
                self._proc = psutil.Process(self._pid)
            except psutil.NoSuchProcess as exc:
                raise ProbeError(f"{self.name}: no process with pid {self._pid}") from exc
            return self._proc
        me = psutil.Process().pid
        for proc in psutil.process_iter(["pid", "cmdline", "name"]):
            cmdline = " ".join(proc.info.get("cmdline") or []) or (proc.info.get("name") or "")
            if proc.pid != me and self._match and self._match in cmdline:
                self._proc = proc
                return proc
        raise ProbeError(f"{self.name}: no process matches {self._match!r}")

    async def read(self) -> dict[str, float]:
        proc = self._find()
        try:
            mem = proc.memory_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied) as exc:
            self._proc = None
            raise ProbeError(f"{self.name}: process {proc.pid} is gone ({exc})") from exc
        return {"rss_bytes": float(mem.rss), "pid": float(proc.pid)}
