"""The reference target as a separate process (``soakmon target serve``), like a deployment."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp

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
