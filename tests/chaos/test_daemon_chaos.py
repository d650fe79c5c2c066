"""Chaos in the daemon: the kill switch (token, 403), metrics, and the revert after SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from monitor.chaos.journal import Journal
from monitor.chaos.toxiproxy import Toxiproxy
from tests.chaos.helpers import experiment, proxy_to, write
from tests.daemon.conftest import running_daemon, wait_for


async def _toxics(api: str, proxy: str) -> list[str]:
    return [t["name"] for t in await Toxiproxy(api).toxics(proxy)]


def _config(url: str, exp: Path, state: Path, **chaos: Any) -> dict[str, Any]:
    return {
        "targets": {"ref": {"url": url}},
        "probes": [],
        "server": {"host": "127.0.0.1", "port": 0},
        "chaos": {"state_dir": str(state), "token_env": "TEST_CHAOS_TOKEN",
                  "experiments": [{"experiment": str(exp), "target": "ref",
                                   "schedule": {"every": "1h"}}], **chaos},
    }  # fmt: skip


async def test_the_kill_switch_needs_the_token_and_aborts_with_a_revert(
    tmp_path: Path, toxiproxy_api: str, reference_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_CHAOS_TOKEN", "s3cret")
    where, url = await proxy_to(toxiproxy_api, reference_url)
    exp = write(tmp_path, experiment(url, [{"name": "slow", "kind": "latency", **where,
                                            "latency": 30, "duration": "60s"}]))  # fmt: skip
    async with running_daemon(_config(url, exp, tmp_path / "state")) as daemon:
        assert daemon.server is not None
        api = daemon.server.url
        injected = lambda: [e.state for e in daemon.chaos.journal.entries()] == ["injected"]  # noqa: E731
        await wait_for(injected, 30, "the fault", 0.1)
        assert await _toxics(toxiproxy_api, where["proxy"]) != []
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{api}/api/chaos/kill") as resp:
                assert resp.status == 403
            bad = {"Authorization": "Bearer nope"}
            async with http.post(f"{api}/api/chaos/kill", headers=bad) as resp:
                assert resp.status == 403
            good = {"Authorization": "Bearer s3cret"}
            async with http.post(f"{api}/api/chaos/kill", headers=good) as resp:
                assert resp.status == 200
                assert (await resp.json())["paused"] is True
            await wait_for(lambda: bool(daemon.chaos.results), 30, "the aborted result", 0.1)
            assert daemon.chaos.results[0]["status"] == "aborted"
            assert "kill switch" in daemon.chaos.results[0]["reason"]
            assert await _toxics(toxiproxy_api, where["proxy"]) == []
            async with http.get(f"{api}/metrics") as resp:
                text = await resp.text()
        assert 'soakmon_chaos_actions_total{kind="latency",result="aborted"} 1.0' in text
        assert f'soakmon_chaos_active{{target="{url}"}} 0.0' in text


async def test_a_daemon_killed_mid_fault_reverts_it_on_restart(
    tmp_path: Path, toxiproxy_api: str, reference_url: str
) -> None:
    where, url = await proxy_to(toxiproxy_api, reference_url)
    exp = write(tmp_path, experiment(url, [{"name": "slow", "kind": "latency", **where,
                                            "latency": 30, "duration": "60s"}]))  # fmt: skip
    state = tmp_path / "state"
    config = tmp_path / "daemon.yaml"
    config.write_text(yaml.safe_dump(_config(url, exp, state)))
    log = tmp_path / "daemon.err"
    with log.open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "from monitor.cli.app import main; main()",
            "daemon", "--config", str(config), stdout=err, stderr=err, env=dict(os.environ),
        )  # fmt: skip
    try:
        for _ in range(600):
            if await _toxics(toxiproxy_api, where["proxy"]):
                break
            assert proc.returncode is None, log.read_text()
            await asyncio.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert await _toxics(toxiproxy_api, where["proxy"]) != []  # nobody reverted it
    assert [e.orphaned() for e in Journal(state).entries()] == [True]
    # the next start (paused, so it injects nothing new) reverts it before anything else
    restarted = yaml.safe_load(config.read_text())
    restarted["chaos"]["paused"] = True
    async with running_daemon(restarted) as daemon:
        await wait_for(daemon.chaos.ready.is_set, 30, "the start-up revert", 0.1)
        assert [r["error"] for r in daemon.chaos.reverted_at_start] == [None]
    assert await _toxics(toxiproxy_api, where["proxy"]) == []
    assert Journal(state).entries() == []
