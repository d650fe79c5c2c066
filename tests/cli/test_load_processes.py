"""``soakmon load --processes N``: exact split, exact merge, signals, a worker that dies."""

from __future__ import annotations

import asyncio
import json
import math
import random
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest
from aiohttp import web

from monitor.cli.load_workers import merge, split_exact, split_plan
from monitor.engine import ConcurrentResult
from monitor.engine.spec import RequestRecord
from monitor.engine.wire import absorb_wire, result_to_wire
from monitor.engine.workers import Worker
from tests.cli.test_load import LOAD_ONLY
from tests.cli.workers import started_workers
from tests.engine.servers import serve_app


def _record(rng: random.Random) -> RequestRecord:
    status = rng.choice((200, 200, 200, 201, 404, 500, None))
    ms = rng.lognormvariate(0.0, 1.5) * (1000 if rng.random() < 0.01 else 1)
    error = "timeout after 2.0 s" if status is None else None
    return RequestRecord(
        name="GET /", method="GET", url="http://127.0.0.1/", started_at=0.0, start=0.0,
        intended_start=None, duration_ms=ms, status=status, bytes_received=0, error=error,
        error_kind="timeout" if error else None,
        sent=rng.random() < 0.5 if error else True,
    )  # fmt: skip


def test_merged_worker_results_equal_one_result_over_the_same_latencies() -> None:
    rng = random.Random(23)
    records = [_record(rng) for _ in range(20_000)]
    single = ConcurrentResult(records, sample_limit=0)
    parts = [ConcurrentResult(records[i::3], sample_limit=0) for i in range(3)]
    merged = ConcurrentResult(sample_limit=0)
    for part in parts:  # through JSON, as the workers send them
        absorb_wire(merged, json.loads(json.dumps(result_to_wire(part))))
    assert merged.total == single.total == 20_000
    assert (merged.success_count, merged.error_count) == (single.success_count, single.error_count)
    assert merged.connect_failures == single.connect_failures
    assert merged.status_codes == single.status_codes
    assert merged.error_counts == single.error_counts
    assert merged.histogram.bucket_counts() == single.histogram.bucket_counts()
    pcts = [50.0, 90.0, 95.0, 99.0, 99.9, 100.0]
    assert merged.histogram.percentiles(pcts) == single.histogram.percentiles(pcts)
    assert merged.latency_ms() == single.latency_ms()
    assert merged.histogram.total_ms == pytest.approx(single.histogram.total_ms, rel=1e-12)


def test_intervals_of_workers_that_started_apart_are_added_by_their_second() -> None:
    """Worker intervals are in seconds since the parent's start, on one grid (each worker's
    first interval is what is left of its first second): the k-th second of every worker is
    added into one merged interval, never listed beside another's."""
    rng = random.Random(7)

    def interval(start: float, end: float, n: int) -> dict[str, object]:
        part = ConcurrentResult([_record(rng) for _ in range(n)], sample_limit=0)
        return {"start_s": start, "end_s": end, "result": result_to_wire(part)}

    early, late = Worker(0, {"vus": 1}), Worker(1, {"vus": 1})
    early.intervals = [interval(0.12, 1.0, 8), interval(1.0, 2.0, 10), interval(2.0, 2.31, 3)]
    late.intervals = [interval(0.47, 1.0, 5), interval(1.0, 2.0, 10), interval(2.0, 2.66, 6)]
    merged = merge([early, late])
    spans = [(i["start_s"], i["end_s"], i["total"]) for i in merged.intervals]
    assert spans == [(0.12, 1.0, 13), (1.0, 2.0, 20), (2.0, 2.66, 9)]
    assert merged.result.total == 42  # two dead workers: their streamed intervals count


def test_vus_and_rate_are_split_exactly() -> None:
    assert split_exact(7, 3) == [3, 2, 2]
    assert split_plan(4, vus=3, rate=None, max_vus=None) == [{"vus": 1}] * 3
    assert sum(p["vus"] for p in split_plan(2, vus=65, rate=None, max_vus=None)) == 65
    shares = split_plan(3, vus=None, rate=1000.0, max_vus=100)
    assert [s["max_vus"] for s in shares] == [34, 33, 33]
    assert sum(s["rate"] for s in shares) == pytest.approx(1000.0, rel=1e-12)


@pytest.fixture
async def counted() -> AsyncIterator[tuple[str, list[int]]]:
    served = [0]

    async def ping(request: web.Request) -> web.Response:
        served[0] += 1
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/ping", ping)
    async with serve_app(app) as url:
        yield url, served


async def _start(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *LOAD_ONLY, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


async def test_two_processes_merge_exact_totals(
    counted: tuple[str, list[int]], tmp_path: Path
) -> None:
    url, served = counted
    report = tmp_path / "load.json"
    proc = await _start(
        "--target", url, "--path", "/ping", "--vus", "3", "--duration", "1s",
        "--processes", "2", "--json", str(report), "--quiet",
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    doc = json.loads(report.read_text())
    req = doc["requests"]
    assert req["total"] == served[0] > 0  # every request the server answered, counted once
    assert req["success_count"] == req["total"]
    assert req["status_codes"] == {"200": req["total"]}
    assert [w["vus"] for w in doc["workers"]] == [2, 1]
    assert doc["stopped_by"] is None
    assert sum(w["requests"] for w in doc["workers"]) == req["total"]
    assert sum(i["total"] for i in doc["intervals"]) == req["total"]
    # one grid for both workers: after each one's first (partial) second, whole seconds
    assert doc["intervals"][0]["start_s"] > 0  # since the parent's start, not each worker's
    first = math.floor(doc["intervals"][0]["start_s"]) + 1  # after the workers' start-up
    inner = [i["start_s"] for i in doc["intervals"][1:]]
    assert inner == [float(k) for k in range(first, first + len(inner))], doc["intervals"]
    assert doc["processes"] == 2
    assert doc["fast_path"] is True


async def test_sigterm_stops_every_worker_with_a_report(
    counted: tuple[str, list[int]], tmp_path: Path
) -> None:
    url, served = counted
    report = tmp_path / "load.json"
    proc = await _start(
        "--target", url, "--path", "/ping", "--rate", "40", "--duration", "60s",
        "--processes", "2", "--json", str(report), "--quiet",
    )  # fmt: skip
    try:
        workers = await started_workers(proc.pid, "monitor.cli.load_worker", 2, within_s=30)
        await asyncio.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err.decode()
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)
    doc = json.loads(report.read_text())
    assert doc["duration_s"] < 30
    assert doc["requests"]["total"] == served[0] > 0
    assert all(w["status"] == "ok" for w in doc["workers"])
    assert doc["stopped_by"] == "SIGTERM"
    assert "stopped by SIGTERM after " in err.decode()


async def test_a_killed_worker_is_reported(counted: tuple[str, list[int]], tmp_path: Path) -> None:
    url, _ = counted
    report = tmp_path / "load.json"
    proc = await _start(
        "--target", url, "--path", "/ping", "--rate", "40", "--duration", "3s",
        "--processes", "2", "--json", str(report), "--quiet",
    )  # fmt: skip
    try:
        workers = await started_workers(proc.pid, "monitor.cli.load_worker", 2, within_s=30)
        victim = min(workers, key=lambda w: w.pid)
        await asyncio.sleep(0.5)
        victim.send_signal(signal.SIGKILL)
        _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 4
    assert f"(pid {victim.pid}) died: killed by SIGKILL" in err.decode()
    doc = json.loads(report.read_text())
    dead = [w for w in doc["workers"] if w["status"] == "died"]
    assert [w["pid"] for w in dead] == [victim.pid]
    assert "killed by SIGKILL" in dead[0]["error"]
    assert doc["requests"]["total"] > 0  # the survivor's requests are all there
