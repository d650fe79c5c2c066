"""The engine meets a hostile target: every garbage answer is an error of that request, memory
stays bounded, and the client goes on serving good answers afterwards.

Both transports: aiohttp (suites, the daemon, ``soakmon load --mode per-user``) and the fast path
(``soakmon load`` in shared mode), with bodies kept (setup and read-back) and only counted (load).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import psutil
import pytest

from monitor.engine import ConcurrentTester, RequestRecord, RequestSpec
from monitor.engine.errors import MAX_KEPT_BODY
from monitor.engine.fastusers import FastUsers
from tests.hostile.measured import SOAKMON, run_measured
from tests.hostile.server import HOSTILE, READABLE, hostile_server

TIMEOUT_S = 1.5
#: Paths whose whole answer a load test may legitimately count: a large or connection-delimited
#: body, or one in an encoding the fast path does not decode, is data, not an error, when nobody
#: reads it (it is read and dropped chunk by chunk).
COUNTED_OK = ("/huge-body", "/until-close", "/bad-gzip")
RSS_GROWTH = 96 * 1024 * 1024
"""Above what the client held before: the 16 MiB kept-body limit, parser buffers, slack."""


class PeakRss:
    """Samples this process's RSS every 20 ms while the block runs."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.base = self.proc.memory_info().rss
        self.peak = self.base
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, self.proc.memory_info().rss)
            await asyncio.sleep(0.02)

    async def __aenter__(self) -> PeakRss:
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self.peak = max(self.peak, self.proc.memory_info().rss)

    @property
    def growth(self) -> int:
        return self.peak - self.base


def _judge(records: dict[str, RequestRecord], keep: bool) -> None:
    for path, rec in records.items():
        if path == "/ok":
            assert (rec.error, rec.status) == (None, 200), path
        elif path in READABLE or (not keep and path in COUNTED_OK):
            continue  # a complete answer: what it means is the caller's business
        else:
            assert rec.error is not None, f"{path}: recorded as ok ({rec.status})"
            assert rec.error_kind in ("malformed", "reset", "timeout"), (path, rec.error_kind)
            assert "\n" not in rec.error, (path, rec.error)
            assert len(rec.error) < 300, (path, rec.error)


@pytest.mark.parametrize("keep", [True, False], ids=["kept", "counted"])
async def test_aiohttp_client_records_each_garbage_answer_as_an_error(keep: bool) -> None:
    async with (
        hostile_server() as (url, counts),
        ConcurrentTester(url, timeout=TIMEOUT_S, mode="per-request", keep_body=keep) as tester,
        PeakRss() as rss,
    ):
        paths = ["/ok", *HOSTILE]
        records = await tester.fire([RequestSpec("GET", p) for p in paths])
        after = await tester.send(RequestSpec("GET", "/ok"))
    _judge(dict(zip(paths, records, strict=True)), keep)
    assert after.status == 200
    assert after.error is None
    assert counts["/ok"] == 2
    assert rss.growth < RSS_GROWTH, f"RSS grew {rss.growth >> 20} MiB"


@pytest.mark.parametrize("keep", [True, False], ids=["kept", "counted"])
async def test_fast_path_records_each_garbage_answer_as_an_error(keep: bool) -> None:
    async with (
        hostile_server() as (url, _),
        ConcurrentTester(
            url, timeout=TIMEOUT_S, mode="shared", fast_path=True, keep_body=keep
        ) as tester,
        PeakRss() as rss,
    ):
        users = FastUsers(tester.client)
        paths = ["/ok", *HOSTILE]
        prepared = [tester.client.prepare(RequestSpec("GET", p)) for p in paths]
        try:
            records = await asyncio.gather(
                *(users.execute(req, vu, None) for vu, req in enumerate(prepared))
            )
            # the same connections afterwards: a broken one is replaced, the run goes on
            again = await asyncio.gather(
                *(users.execute(prepared[0], vu, None) for vu in range(len(paths)))
            )
        finally:
            users.close()
    _judge(dict(zip(paths, records, strict=True)), keep)
    assert all(r.status == 200 and r.error is None for r in again), [r.error for r in again]
    assert rss.growth < RSS_GROWTH, f"RSS grew {rss.growth >> 20} MiB"


async def test_kept_body_over_the_limit_names_the_limit() -> None:
    async with (
        hostile_server() as (url, _),
        ConcurrentTester(url, timeout=5, keep_body=True) as tester,
    ):
        record = await tester.send(RequestSpec("GET", "/huge-body"))
    assert record.error == f"malformed response: response body over {MAX_KEPT_BODY >> 20} MiB"
    assert record.body is None


async def _load(url: str, path: str, tmp_path: Path) -> tuple[int, dict[str, object], int]:
    """``soakmon load`` in a fresh parent that reports its child's peak RSS (bytes)."""
    report = tmp_path / f"{path.strip('/')}.json"
    command = [
        sys.executable,
        "-c",
        "import monitor.cli.load; from monitor.cli.app import app; app()",
    ]
    args = ["load", "--target", url, "--path", path, "--vus", "4", "--duration", "2s",
            "--timeout", str(TIMEOUT_S), "--json", str(report)]  # fmt: skip
    code, _, _, rss = await run_measured([*command, *args], 120)
    return code, json.loads(report.read_text()), rss


@pytest.mark.slow
async def test_soakmon_load_against_garbage_goes_on_with_bounded_memory(tmp_path: Path) -> None:
    """As a user runs it: each hostile answer kind for 2 s, 4 VUs, fast path (the default)."""
    worst = 0
    async with hostile_server() as (url, counts):
        for path in ("/endless", "/huge-header", "/slowloris"):
            code, report, rss = await _load(url, path, tmp_path)
            worst = max(worst, rss)
            assert code == 0, (path, code)
            assert report["fast_path"] is True
            requests = report["requests"]
            assert isinstance(requests, dict)
            assert requests["success_count"] == 0, (path, requests)
            assert requests["error_count"] >= 1, (path, requests)
    assert worst < 300 * 1024 * 1024, f"soakmon load peaked at {worst >> 20} MiB"
    assert counts["/endless"] >= 1


@pytest.mark.parametrize(("sync", "h2c"), [("last-byte", False), ("single-packet", True)])
async def test_synchronised_sender_records_each_garbage_answer_as_an_error(
    sync: str, h2c: bool
) -> None:
    """The barrier senders (issue 17): last-byte on HTTP/1.1 connections; single-packet asked
    of a server that speaks no HTTP/2 falls back to last-byte and says why."""
    async with (
        hostile_server() as (url, _),
        ConcurrentTester(
            url, timeout=TIMEOUT_S, mode="per-user", keep_body=True, sync=sync, h2c=h2c
        ) as tester,
        PeakRss() as rss,
    ):
        paths = ["/ok", *HOSTILE]
        records, delivery = await tester.fire_batch([RequestSpec("GET", p) for p in paths])
        after = await tester.send(RequestSpec("GET", "/ok"))
    _judge(dict(zip(paths, records, strict=True)), keep=True)
    assert delivery is not None
    assert delivery.sync == "last-byte"
    if h2c:
        assert delivery.note is not None
        assert "HTTP/2" in delivery.note
    assert after.status == 200
    assert rss.growth < RSS_GROWTH, f"RSS grew {rss.growth >> 20} MiB"


@pytest.mark.slow
async def test_soakmon_run_setup_phase_and_readback_against_garbage(tmp_path: Path) -> None:
    """A suite (tests/hostile/suite.yaml) whose setup, concurrent phase and read-back all meet
    garbage answers (tests/hostile/profile.yaml maps each operation to a hostile path): the run
    ends as an error (exit 4) with every request recorded, not a crash or a stall."""
    here = Path(__file__).parent
    report = tmp_path / "run.json"
    async with hostile_server() as (url, counts):
        code, _, err, rss = await run_measured(
            [
                *SOAKMON, "run", str(here / "suite.yaml"), "--profile", str(here / "profile.yaml"),
                "--target", url, "--timeout", str(TIMEOUT_S), "--json", str(report),
            ],
            200,
        )  # fmt: skip
    assert code == 4, err.decode()[-2000:]
    scenario = json.loads(report.read_text())["suites"][0]["scenarios"][0]
    assert scenario["status"] == "error"
    requests = scenario["requests"]
    assert requests["total"] == 6
    assert requests["error_count"] == 6
    assert any("body over 16 MiB" in e for e in requests["errors"]), requests["errors"]
    assert any("reset" in e for e in requests["errors"]), requests["errors"]
    assert counts["/bad-json"] >= 1  # setup
    assert counts["/slowloris"] >= 1  # read-back
    assert rss < 400 * 1024 * 1024, f"soakmon run peaked at {rss >> 20} MiB"
