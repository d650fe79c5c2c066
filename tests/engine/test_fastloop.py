"""The callback-driven fast path (``monitor.engine.fastloop``) counts exactly what was answered.

With no records kept (``sample_limit=0``, as ``soakmon load`` runs) a success goes straight
into the bucket; these tests hold it to the server's own tally, to the record-keeping mode and
to the same error kinds, over keep-alive, closing and stalling answers.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from monitor.engine import (
    ConcurrentTester,
    ConstantArrivalRate,
    ConstantVUs,
    RequestHooks,
    RequestRecord,
    RequestSpec,
    Runner,
)
from tests.engine.servers import each_request, read_request_head, serve_raw

GET = RequestSpec("GET", "/")


class TallyServer:
    """Answers 200, 404 and 500 in turn on each connection; every 7th answer of a connection
    says ``Connection: close`` and closes. Counts what it sent by status."""

    def __init__(self) -> None:
        self.sent: Counter[int] = Counter()
        self.connections = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        n = 0
        async for _ in each_request(reader):
            status = (200, 404, 500)[n % 3]
            n += 1
            close = n % 7 == 0
            head = f"HTTP/1.1 {status} X\r\nContent-Length: 2\r\n"
            head += "Connection: close\r\n\r\n" if close else "\r\n"
            writer.write(head.encode() + b"ok")
            await writer.drain()
            self.sent[status] += 1
            if close:
                return


@pytest.mark.parametrize("sample_limit", [0, 1000], ids=["counts-only", "records"])
async def test_counts_equal_the_servers_tally(sample_limit: int) -> None:
    server = TallyServer()
    async with (
        serve_raw(server.handle) as url,
        ConcurrentTester(url, mode="shared", fast_path=True, timeout=2.0) as tester,
    ):
        runner = Runner(tester.client, ConstantVUs(4, 0.4), GET, sample_limit=sample_limit)
        assert runner.uses_fast_path
        out = await runner.run()
    result, stats = out.result, out.stats
    assert result.total > 30
    assert result.status_codes == dict(server.sent)  # every answer counted, exactly once
    assert result.success_count == server.sent[200]
    assert result.error_count == server.sent[404] + server.sent[500]
    assert result.error_counts == {"HTTP 404": server.sent[404], "HTTP 500": server.sent[500]}
    assert result.histogram.count == result.total
    assert stats.completed == stats.iterations == result.total
    assert stats.interrupted == 0
    assert server.connections > 4  # closed connections were replaced


async def test_a_stalled_answer_times_out_on_time_after_many_fast_ones() -> None:
    """One timer per connection, moved by each request: the timeout still fires at its
    deadline for the request that stalls, not at an earlier request's."""
    answered = 0

    async def stall_after_50(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal answered
        async for _ in each_request(reader):
            answered += 1
            if answered == 50:
                await asyncio.sleep(5)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()

    async with (
        serve_raw(stall_after_50) as url,
        ConcurrentTester(url, mode="shared", fast_path=True, timeout=0.3) as tester,
    ):
        out = await Runner(tester.client, ConstantVUs(1, 0.8), GET, sample_limit=0).run()
    result = out.result
    assert result.error_counts == {"timeout after 0.3 s": 1}
    assert result.success_count >= 49
    # measured to this request's timeout: not an earlier request's deadline (< 300 ms), not
    # the server's 5 s stall (the timer would not have fired)
    assert 300 <= result.max < 1000, result.max


async def test_open_model_latency_counts_from_the_intended_start() -> None:
    """No records kept: a late start still shows in the latency (no coordinated omission)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async for _ in each_request(reader):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()

    blocked: list[float] = []

    def block_the_loop() -> None:  # iterations due meanwhile start late
        time.sleep(0.4)
        blocked.append(0.4)

    async with (
        serve_raw(answer) as url,
        ConcurrentTester(url, mode="shared", fast_path=True) as tester,
    ):
        asyncio.get_running_loop().call_later(0.2, block_the_loop)
        runner = Runner(tester.client, ConstantArrivalRate(100, 1.0), GET, sample_limit=0)
        out = await runner.run()
    assert blocked
    assert out.result.total == 100
    assert out.result.max >= 350, out.result.latency_ms()
    assert out.result.p50 < 100


async def test_stop_while_answers_stall_interrupts_and_frees_every_vu() -> None:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        await asyncio.sleep(10)

    async with (
        serve_raw(never_answer) as url,
        ConcurrentTester(url, mode="shared", fast_path=True, timeout=5.0) as tester,
    ):
        runner = Runner(tester.client, ConstantVUs(3, 5.0), GET, sample_limit=0, graceful_stop=0.1)
        task = asyncio.create_task(runner.run())
        await asyncio.sleep(0.3)
        runner.stop()
        out = await asyncio.wait_for(task, 3.0)
    assert out.stats.interrupted == 3
    assert out.stats.iterations == 3
    assert out.result.total == 0
    assert runner.progress().active_vus == 0


async def test_a_request_done_listener_still_gets_every_record() -> None:
    server = TallyServer()
    seen: list[RequestRecord] = []
    hooks = RequestHooks()
    hooks.add_request_done(seen.append)
    async with (
        serve_raw(server.handle) as url,
        ConcurrentTester(url, mode="shared", fast_path=True, hooks=hooks) as tester,
    ):
        out = await Runner(tester.client, ConstantVUs(2, 0.3), GET, sample_limit=0).run()
    assert len(seen) == out.result.total == sum(server.sent.values())
    assert Counter(r.status for r in seen) == server.sent


@pytest.mark.parametrize("mode", ["shared", "per-user"])
async def test_a_get_on_a_connection_the_server_just_closed_is_sent_again(mode: str) -> None:
    """A server that closes after each answer without saying so: the next request is written
    at once, before its close is seen; a GET found unanswered on that reused connection goes
    again on a new one (as Go's net/http does), so no request is lost as 'server
    disconnected' and the server gets every one. Both fast paths: the callback-driven one
    (shared) and the per-user one (cookies)."""
    received = 0

    async def answer_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal received
        await read_request_head(reader)
        received += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()

    async with (
        serve_raw(answer_then_close) as url,
        ConcurrentTester(url, mode=mode, fast_path=True, timeout=2.0) as tester,
    ):
        runner = Runner(tester.client, ConstantVUs(2, 0.4), GET, sample_limit=0)
        assert runner.uses_fast_path
        out = await runner.run()
    result = out.result
    assert result.total > 20
    assert result.error_counts == {}
    assert result.success_count == result.total == received


async def test_iterations_of_several_requests_are_counted_whole() -> None:
    """The hot path goes from one request of an iteration to the next and on to the next
    iteration without the general path: every request of every iteration is counted once, a
    404 on the second request still an error, and iterations end whole."""
    server = TallyServer()
    specs = [GET, RequestSpec("GET", "/second")]
    async with (
        serve_raw(server.handle) as url,
        ConcurrentTester(url, mode="shared", fast_path=True, timeout=2.0) as tester,
    ):
        out = await Runner(tester.client, ConstantVUs(3, 0.4), specs, sample_limit=0).run()
    result, stats = out.result, out.stats
    assert stats.interrupted == 0
    assert result.total == 2 * stats.completed == 2 * stats.iterations > 20
    assert result.status_codes == dict(server.sent)
    assert result.histogram.count == result.total


async def test_latencies_are_folded_in_while_an_interval_runs() -> None:
    """Successes append their latency to the bucket's histogram; within a long interval the
    fast loop folds them in about every second, so they are not all held until it ends."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async for _ in each_request(reader):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()

    held: list[tuple[int, int]] = []
    async with (
        serve_raw(answer) as url,
        ConcurrentTester(url, mode="shared", fast_path=True) as tester,
    ):
        runner = Runner(tester.client, ConstantVUs(2, 1.6), GET, sample_limit=0, interval=3600.0)
        task = asyncio.create_task(runner.run())
        await asyncio.sleep(1.3)
        bucket = runner._books._current  # no interval has ended: the run's only bucket
        held.append((len(bucket.histogram.seconds), bucket.success_count))
        out = await task
    appended, counted = held[0]
    assert counted > 50
    assert appended < counted  # the ones before the fold are in the histogram already
    assert out.result.histogram.count == out.result.total == out.result.success_count


async def test_answers_in_pieces_are_counted_once_each() -> None:
    """Answers that arrive in several reads (the head split, then the body), next to answers
    in one read on the same connection: the hot path re-arms the connection in place, so a
    piece of one answer never counts for the next request, and each is counted once."""
    sent = 0

    async def in_pieces(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        async for _ in each_request(reader):
            sent += 1
            answer = (
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Pad: " + b"x" * 50 + b"\r\n\r\nhello"
            )
            if sent % 3:
                writer.write(answer)
            else:
                for piece in (answer[:9], answer[9:40], answer[40:-2], answer[-2:]):
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(0.002)
            await writer.drain()

    async with (
        serve_raw(in_pieces) as url,
        ConcurrentTester(url, mode="shared", fast_path=True, timeout=2.0) as tester,
    ):
        out = await Runner(tester.client, ConstantVUs(2, 0.4), GET, sample_limit=0).run()
    assert out.result.error_counts == {}
    assert out.result.status_codes == {200: sent}
    assert out.stats.completed == sent > 20


async def test_a_run_that_fails_to_set_up_leaves_no_timer_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Setting up the open model's fine timer fails (e.g. timerfd refused by a seccomp
    profile) after the fast loop armed its fold timer: the run raises, and the timer is gone.
    (The failure is injected: no real kernel refuses timerfd here.)"""
    from monitor.engine.executors import runner as runner_module

    def refused() -> None:
        raise OSError("timerfd_create: operation not permitted")

    monkeypatch.setattr(runner_module, "fine_timer", refused)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async with (
        serve_raw(answer) as url,
        ConcurrentTester(url, mode="shared", fast_path=True) as tester,
    ):
        runner = Runner(tester.client, ConstantArrivalRate(10, 0.5), GET, sample_limit=0)
        with pytest.raises(OSError, match="timerfd_create"):
            await runner.run()
        loop = runner._loop
        assert loop is not None
        assert loop._folding is None or loop._folding.cancelled()
