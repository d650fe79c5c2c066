"""The reference target as a separate process (``soakmon target serve``), like a deployment."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from multiprocessing.connection import Connection
from pathlib import Path

import aiohttp

SERVE = [sys.executable, "-c", "from monitor.cli.app import main; main()", "target", "serve"]


class TargetProcess:
    """``soakmon target serve`` as a child process (a target deployed apart from the monitor)."""

    def __init__(
        self,
        workdir: Path,
        tag: str,
        faults: Sequence[str] = (),
        port: int = 0,
        race_window: float | None = None,
    ) -> None:
        self.workdir = workdir
        self.tag = tag
        self.faults = list(faults)
        self.race_window = race_window
        self.db = f"sqlite:///{workdir / f'{tag}.db'}"
        self.port = port
        self.url = ""
        self.proc: subprocess.Popen[bytes] | None = None

    def _spawn(self, out: Path) -> subprocess.Popen[bytes]:
        args = [*SERVE, "--db", self.db, "--port", str(self.port)]
        for fault in self.faults:
            args += ["--fault", fault]
        if self.race_window is not None:
            args += ["--race-window", str(self.race_window)]
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


# -- the reference target in a process of its own, started in milliseconds -----------------------
#
# A target that runs in the test's event loop shares that loop and its CPU time with the load
# generator: on a busy machine every request's latency then includes the generator's own work,
# and its memory includes the generator's allocations. ``forked_target`` serves the reference
# target from a child process instead. Children are forked from a multiprocessing forkserver
# that has the reference target imported once per session, so a fresh target costs a fork, not
# the ~2-5 s interpreter start-up and imports of ``soakmon target serve``.

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["monitor.reference", "tests.plugins.target_process"])


def _serve_forked(
    db_url: str | None, faults: list[str], race_window: float | None, conn: Connection
) -> None:
    """Child process: serve the reference target until SIGTERM; send its URL (or the error)."""
    from monitor.reference import DEFAULT_RACE_WINDOW, ReferenceServer

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        server = ReferenceServer(
            db_url=db_url,
            faults=faults,
            race_window=DEFAULT_RACE_WINDOW if race_window is None else race_window,
        )
        try:
            await server.start()
        except BaseException as exc:
            conn.send(f"error: {type(exc).__name__}: {exc}")
            raise
        conn.send(server.url)
        try:
            await stop.wait()
        finally:
            await server.stop()

    asyncio.run(main())


@contextlib.asynccontextmanager
async def forked_target(
    db_url: str | None = None, faults: Sequence[str] = (), race_window: float | None = None
) -> AsyncIterator[str]:
    """The reference target in a child process; yields its URL; stopped (then killed) after.
    ``race_window``: seconds its race faults pause in their window (None: the default)."""
    parent, child = _CONTEXT.Pipe(duplex=False)
    proc = _CONTEXT.Process(
        target=_serve_forked,
        args=(db_url, list(faults), race_window, child),
        name="reference-target",
    )
    proc.start()
    child.close()
    try:
        loop = asyncio.get_running_loop()
        ready = await loop.run_in_executor(None, parent.poll, 60.0)
        try:
            message = parent.recv() if ready else "error: no answer within 60 s"
        except EOFError:
            message = f"error: the process exited with {proc.exitcode}"
        if not str(message).startswith("http://"):
            raise AssertionError(f"reference target did not start: {message}")
        yield str(message)
    finally:
        parent.close()
        if proc.is_alive():
            proc.terminate()
        await asyncio.get_running_loop().run_in_executor(None, proc.join, 15.0)
        if proc.is_alive():
            proc.kill()
            proc.join(5.0)
