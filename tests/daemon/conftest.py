"""Helpers for daemon tests: the daemon in-process, and reference targets as real processes."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from monitor.daemon.app import Daemon
from monitor.daemon.config import DaemonConfig
from monitor.observe.metrics import MonitorMetrics
from monitor.observe.tracing import setup_tracing

SERVE = [sys.executable, "-c", "from monitor.cli.app import main; main()", "target", "serve"]


class TargetProcess:
    """``soakmon target serve`` as a child process (a target deployed apart from the monitor)."""

    def __init__(self, workdir: Path, tag: str, faults: Sequence[str] = (), port: int = 0) -> None:
        self.workdir = workdir
        self.tag = tag
        self.faults = list(faults)
        self.db = f"sqlite:///{workdir / f'{tag}.db'}"
        self.port = port
        self.url = ""
        self.proc: subprocess.Popen[bytes] | None = None

    def _spawn(self, out: Path) -> subprocess.Popen[bytes]:
        args = [*SERVE, "--db", self.db, "--port", str(self.port)]
        for fault in self.faults:
            args += ["--fault", fault]
        with out.open("wb") as stdout, (self.workdir / f"{self.tag}.err").open("ab") as stderr:
            return subprocess.Popen(args, stdout=stdout, stderr=stderr)

    async def start(self) -> str:
        """Start (or restart, on the same port and database); returns the URL."""
        out = self.workdir / f"{self.tag}.out"
        self.proc = self._spawn(out)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for line in out.read_text(errors="replace").splitlines():
                if line.startswith("listening on http://"):
                    self.url = line.removeprefix("listening on ").strip()
                    self.port = int(self.url.rsplit(":", 1)[1])
                    return self.url
            if self.proc.poll() is not None:
                break
            await asyncio.sleep(0.05)
        raise AssertionError(f"target {self.tag} did not start: {self.stderr()}")

    def stderr(self) -> str:
        return (self.workdir / f"{self.tag}.err").read_text(errors="replace")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    async def register(self, username: str) -> str:
        """A user's token (for the soak's credentials)."""
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{self.url}/auth/register", json={"username": username}) as resp,
        ):
            assert resp.status == 201, await resp.text()
            token: str = (await resp.json())["token"]
            return token


@pytest.fixture
async def targets(tmp_path: Path) -> AsyncIterator[list[TargetProcess]]:
    """Append ``TargetProcess`` objects; all are killed at teardown."""
    started: list[TargetProcess] = []
    yield started
    for target in started:
        target.kill()


@contextlib.asynccontextmanager
async def running_daemon(config: dict[str, Any], **kwargs: Any) -> AsyncIterator[Daemon]:
    """A daemon built from ``config`` (a dict as in the YAML file), served on a free port."""
    config = {"server": {"host": "127.0.0.1", "port": 0}, **config}
    daemon = Daemon(
        DaemonConfig.model_validate(config),
        metrics=MonitorMetrics(CollectorRegistry()),
        tracer_provider=setup_tracing({}),
        **kwargs,
    )
    task = asyncio.create_task(daemon.run(install_signals=False), name="test-daemon")
    deadline = time.monotonic() + 30
    while not daemon.state.ready:
        if task.done():
            await task
        assert time.monotonic() < deadline, "daemon did not become ready"
        await asyncio.sleep(0.02)
    try:
        yield daemon
    finally:
        daemon.stop()
        await asyncio.wait_for(task, 30)


async def wait_for(predicate: Any, within: float, what: str, every: float = 0.5) -> None:
    """Poll ``predicate()`` until true, or fail naming ``what``."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(every)
    raise AssertionError(f"timed out after {within:g} s waiting for {what}")


def verdict(daemon: Daemon, target: str, name: str) -> dict[str, Any] | None:
    for item in daemon.state.status()["analysis"]:
        if item["target"] == target and item["name"] == name:
            return dict(item)
    return None
