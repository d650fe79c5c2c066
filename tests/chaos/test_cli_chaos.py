"""``soakmon chaos`` as a user runs it: validate messages, SIGTERM aborts and reverts, and
``chaos revert`` cleans up after a run that was SIGKILLed mid-fault."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from monitor.chaos.journal import Journal
from monitor.chaos.toxiproxy import Toxiproxy
from tests.chaos.helpers import experiment, proxy_to, write

CLI = [sys.executable, "-c", "from monitor.cli.app import main; main()", "chaos"]


async def _cli(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *CLI, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_validate_names_file_line_and_field(tmp_path: Path) -> None:
    doc = experiment("http://127.0.0.1:9", [
        {"kind": "latency", "proxy": "p", "latency": -5},
        {"kind": "nope"},
        {"kind": "process-kill", "pid": 4242, "colour": "red"},
        {"kind": "process-kill", "pid": 4242, "restart": "true"},
    ])  # fmt: skip
    path = write(tmp_path, doc)
    code, out = await _cli("validate", str(path))
    assert code == 2
    lines = path.read_text().splitlines()
    assert f"{path}:" in out
    assert "method[0].latency: must be >= 0" in out
    assert "method[1].kind: unknown chaos action kind 'nope' (valid: " in out
    assert "method[2].colour: unknown key" in out
    assert "method[3]: `restart` needs `match`" in out
    bad = next(i for i, line in enumerate(lines, 1) if "nope" in line)
    assert f"{path}:{bad}: method[1].kind" in out


async def _wait_toxic(api: str, proxy: str, proc: asyncio.subprocess.Process) -> None:
    for _ in range(600):
        if await Toxiproxy(api).toxics(proxy):
            return
        assert proc.returncode is None
        await asyncio.sleep(0.1)
    raise AssertionError("the fault was never injected")


async def test_sigterm_aborts_and_reverts_then_a_sigkilled_run_is_reverted_by_revert(
    tmp_path: Path, toxiproxy_api: str, reference_url: str
) -> None:
    where, url = await proxy_to(toxiproxy_api, reference_url)
    step = {"name": "slow", "kind": "latency", **where, "latency": 30, "duration": "60s"}
    doc = experiment(url, [step], workload=None, steady_state={"slo": False, "baseline": 0},
                     recovery={"slo": False})  # fmt: skip
    path = write(tmp_path, doc)
    state = str(tmp_path / "state")
    proc = await asyncio.create_subprocess_exec(
        *CLI, "run", str(path), "--state-dir", state, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    await _wait_toxic(toxiproxy_api, where["proxy"], proc)
    proc.send_signal(signal.SIGTERM)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1, out.decode()
    assert "ABORTED" in out.decode()
    assert await Toxiproxy(toxiproxy_api).toxics(where["proxy"]) == []
    # now a run that dies without any chance to revert
    proc = await asyncio.create_subprocess_exec(
        *CLI, "run", str(path), "--state-dir", state, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    await _wait_toxic(toxiproxy_api, where["proxy"], proc)
    proc.kill()
    await proc.wait()
    assert await Toxiproxy(toxiproxy_api).toxics(where["proxy"]) != []
    code, out_text = await _cli("revert", "--state-dir", state)
    assert code == 0, out_text
    assert "reverted latency" in out_text
    assert await Toxiproxy(toxiproxy_api).toxics(where["proxy"]) == []
    assert Journal(Path(state)).entries() == []
