"""Ctrl-C before a command's own graceful handling is installed (and in `soakmon run`, which has
none): one line naming what it was doing, exit 130, no traceback (as k6 and Locust), no worker
process left behind. The real console script in a subprocess."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import psutil
import yaml

from monitor.reference import ReferenceServer
from tests.cli.workers import started_workers

SCRIPT = str(Path(sys.executable).parent / "soakmon")
"""The installed ``soakmon`` console script, as a user starts it."""

CTRL_C_MID_IMPORT = """
import importlib.abc, os, runpy, signal, sys

class CtrlCWhenTheEngineLoads(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "monitor.engine":
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, CtrlCWhenTheEngineLoads())
sys.argv = [sys.argv[1], *sys.argv[2:]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""
"""Runs the console script with a Ctrl-C at the moment soakmon's engine starts importing:
the start-up window at a known point instead of a guessed sleep."""


async def test_ctrl_c_while_soakmon_loads_says_so_without_traceback() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CTRL_C_MID_IMPORT, SCRIPT, "load", "--target",
        "http://127.0.0.1:9", "--duration", "5s", "--vus", "2", "--processes", "2",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 130
    assert err.decode() == "soakmon: interrupted (Ctrl-C) during start-up while loading soakmon\n"
    assert out == b""


async def test_ctrl_c_while_run_connects_names_the_target() -> None:
    accepted = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # a target that takes the connection and never answers
        accepted.set()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    proc = await asyncio.create_subprocess_exec(
        SCRIPT, "run", "points", "--target", url, "--timeout", "60",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await asyncio.wait_for(accepted.wait(), timeout=60)  # soakmon is reaching the target
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        for writer in held:
            writer.close()
        server.close()
    assert proc.returncode == 130
    assert err.decode().splitlines()[-1] == (
        f"soakmon: interrupted (Ctrl-C) during start-up while connecting to {url}"
    )
    assert "Traceback" not in err.decode()
    assert out == b""


async def test_ctrl_c_during_a_load_in_worker_processes_leaves_no_worker(tmp_path: Path) -> None:
    """Mid-`run`, while a phase's load runs in two worker processes: the line names the
    scenario, and the workers are gone with the command (none left loading the target)."""
    suite = tmp_path / "split.yaml"
    doc = {"name": "split", "scenarios": [{
        "name": "loop",
        "setup": [{"op": "register", "count": 2, "save": "vus"}],
        "phases": [{"load": {"vus": 2, "duration_s": 60, "processes": 2},
                    "ops": [{"op": "points.balance", "user": "vus"}]}],
        "checks": [{"name": "loaded", "cel": "true"}],
    }]}  # fmt: skip
    suite.write_text(yaml.safe_dump(doc))
    async with ReferenceServer() as server:
        proc = await asyncio.create_subprocess_exec(
            SCRIPT, "run", str(suite), "--target", server.url,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            # both workers started (they load the target)
            workers = await started_workers(
                proc.pid, "monitor.suites.run.phase_worker", 2, within_s=90
            )
            proc.send_signal(signal.SIGINT)
            _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert proc.returncode == 130
    assert err.decode().splitlines()[-1] == (
        "soakmon: interrupted (Ctrl-C) while running split/loop [1/1]: no summary or report "
        "was written"
    )
    assert "Traceback" not in err.decode()
    _, alive = psutil.wait_procs(workers, timeout=5)
    assert alive == []
