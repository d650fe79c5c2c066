"""A daemon soak of plain requests in worker processes (``processes: 2``), and the transport a
soak's requests take; against real loopback servers, bounded in time."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest
from aiohttp import web

from monitor.daemon.app import Daemon
from monitor.daemon.config import load_config
from monitor.suites.errors import ConfigError
from tests.daemon.conftest import running_daemon, wait_for
from tests.engine.servers import serve_app

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture
async def counting() -> AsyncIterator[tuple[str, collections.Counter[str]]]:
    """A loopback app counting the requests it answered, by path."""
    hits: collections.Counter[str] = collections.Counter()

    async def handler(request: web.Request) -> web.Response:
        if request.can_read_body:
            await request.read()
        hits[request.path] += 1
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    async with serve_app(app) as url:
        yield url, hits


def workers() -> list[psutil.Process]:
    """This test process's soak worker processes."""
    me = psutil.Process(os.getpid())
    found = []
    for child in me.children(recursive=True):
        try:
            if "monitor.daemon.soak_worker" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def requests_metric(daemon: Daemon, soak: str) -> float:
    total = 0.0
    for family in daemon.metrics.registry.collect():
        if family.name != "soakmon_requests":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels.get("scenario") == soak:
                total += sample.value
    return total


def config(url: str) -> dict[str, object]:
    return {
        "targets": {"t": {"url": url}},
        "soak": [
            {"name": "split", "target": "t", "vus": 3, "window": "0.5s", "processes": 2,
             "requests": [{"path": "/a"}, {"method": "POST", "path": "/b", "json": {"n": 1}}]},
            {"name": "heads", "target": "t", "vus": 1, "window": "0.5s",
             "requests": [{"method": "HEAD", "path": "/h"}]},
        ],
        "probes": [],
    }  # fmt: skip


async def test_a_soak_in_two_processes_is_one_soak_and_stops_with_the_daemon(
    counting: tuple[str, collections.Counter[str]],
) -> None:
    url, hits = counting
    async with running_daemon(config(url)) as daemon:
        soak = daemon.state.soaks["split"]
        # the transport is known before the first window
        assert soak["transport"] == "fast path"
        heads = daemon.state.soaks["heads"]
        assert heads["transport"].startswith("aiohttp (HEAD /h: HEAD answers have no body")
        await wait_for(lambda: soak.get("requests_total", 0) >= 300, 90, "the workers' load")
        assert soak["workers"] == 2
        assert soak["transport"] == "fast path"
        assert soak["errors_total"] == 0
        pids = [p.pid for p in workers()]
        assert len(pids) == 2
        await wait_for(lambda: heads.get("requests_total", 0) > 0, 30, "the HEAD soak's window")
        assert heads["transport"].startswith("aiohttp (HEAD /h: HEAD answers have no body")
    # the daemon stopped: SIGTERM reached every worker, which reported its last window
    deadline = time.monotonic() + 10
    while any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in pids):
        assert time.monotonic() < deadline, "a soak worker outlived the daemon"
        await asyncio.sleep(0.1)
    total = soak["requests_total"]
    assert requests_metric(daemon, "split") == total  # one soak: metrics and windows agree
    served = hits["/a"] + hits["/b"]
    assert 0 <= served - total <= 3, (served, total)  # at most the VUs' requests in flight
    assert abs(hits["/a"] - hits["/b"]) <= 3


async def test_a_worker_that_dies_is_reported_and_its_soak_restarts(
    counting: tuple[str, collections.Counter[str]],
) -> None:
    url, _ = counting
    async with running_daemon(config(url)) as daemon:
        soak = daemon.state.soaks["split"]
        await wait_for(lambda: soak.get("requests_total", 0) > 0, 90, "the workers' load")
        victim = workers()[0]
        victim.send_signal(signal.SIGKILL)
        task = daemon.supervisor.tasks["soak:split"]
        await wait_for(lambda: task.restarts >= 1, 30, "the soak's restart")
        assert task.last_error is not None
        assert f"(pid {victim.pid}) died: killed by SIGKILL" in task.last_error
        before = soak["requests_total"]
        await wait_for(
            lambda: soak["requests_total"] > before + 100 and len(workers()) == 2,
            90, "the restarted workers' load",
        )  # fmt: skip
        assert daemon.state.ready  # the daemon kept running
        assert daemon.state.soaks["heads"]["requests_total"] > 0


def test_processes_is_checked_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "daemon.yaml"
    path.write_text(
        "targets:\n  t: {url: 'http://127.0.0.1:9'}\n"
        "soak:\n"
        "  - {name: a, target: t, requests: [{path: /}], processes: 0}\n"
        "  - {name: b, target: t, requests: [{path: /}], processes: lots}\n"
        "  - name: c\n    target: t\n    vus: 2\n    operations: [{op: points.balance}]\n"
        "    processes: 2\n"
        "  - {name: d, target: t, requests: [{path: /}], processes: auto}\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    lines = str(err.value).splitlines()
    assert f"{path}:4: soak[0].processes: must be a whole number >= 1 or auto (got 0)" in lines
    assert f"{path}:5: soak[1].processes: must be a whole number >= 1 or auto (got 'lots')" in lines
    assert any(
        line.startswith(f"{path}:10: soak[2].processes: worker processes run a soak of plain")
        for line in lines
    ), lines
    assert not any("soak[3]" in line for line in lines)
