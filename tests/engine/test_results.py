"""Aggregation: percentiles against exact computation, exact merges, bounded error lists."""

from __future__ import annotations

import math
import random
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from monitor.engine import (
    ConcurrentResult,
    ConcurrentTester,
    ConnectionMode,
    ConstantVUs,
    LatencyHistogram,
    RequestHooks,
    RequestRecord,
    RequestSpec,
)
from monitor.engine.histogram import RELATIVE_ERROR
from tests.engine.servers import serve_app


def record(ms: float, status: int | None = 200, error: str | None = None) -> RequestRecord:
    return RequestRecord(
        name="GET /",
        method="GET",
        url="http://127.0.0.1/",
        started_at=0.0,
        start=0.0,
        intended_start=None,
        duration_ms=ms,
        status=status,
        bytes_received=0,
        error=error,
        error_kind="timeout" if error else None,
        sent=True,
    )


def exact_rank_bounds(sorted_values: list[float], p: float) -> tuple[float, float]:
    """The exact nearest-rank percentile, widened by one rank either side (HdrHistogram
    rounds the rank), then by the histogram's relative error and 1 µs quantisation."""
    n = len(sorted_values)
    rank = max(1, math.ceil(p / 100 * n))
    lo = sorted_values[max(0, rank - 2)]
    hi = sorted_values[min(n - 1, rank)]
    return lo * (1 - RELATIVE_ERROR) - 0.001, hi * (1 + RELATIVE_ERROR) + 0.001


@pytest.mark.parametrize(
    "distribution",
    [
        lambda rng: rng.uniform(0.1, 1000.0),
        lambda rng: rng.lognormvariate(2.0, 1.0),
        lambda rng: rng.expovariate(1 / 50.0),
        lambda rng: rng.choice([1.0, 2.0, 3.0, 2500.0]),
    ],
    ids=["uniform", "lognormal", "exponential", "discrete"],
)
def test_percentiles_agree_with_exact_computation(distribution: object) -> None:
    rng = random.Random(42)
    values = [distribution(rng) for _ in range(20_000)]  # type: ignore[operator]
    hist = LatencyHistogram()
    hist.record_many(values)
    ordered = sorted(values)
    for p in (50.0, 90.0, 95.0, 99.0, 99.9):
        lo, hi = exact_rank_bounds(ordered, p)
        assert lo <= hist.percentile(p) <= hi, (p, lo, hist.percentile(p), hi)
    assert hist.max == max(values)
    assert hist.mean == pytest.approx(sum(values) / len(values))
    assert hist.count == len(values)


def test_known_values_give_known_percentiles() -> None:
    result = ConcurrentResult([record(float(ms)) for ms in range(1, 1001)])
    assert result.p50 == pytest.approx(500, rel=RELATIVE_ERROR)
    assert result.p95 == pytest.approx(950, rel=RELATIVE_ERROR)
    assert result.p99 == pytest.approx(990, rel=RELATIVE_ERROR)
    assert result.max == 1000.0
    assert ConcurrentResult().to_dict()["latency_ms"] == {
        "p50": 0.0,
        "p95": 0.0,
        "p99": 0.0,
        "max": 0.0,
    }


def test_merge_is_exact() -> None:
    rng = random.Random(7)
    a = [record(rng.lognormvariate(3, 1), status=rng.choice([200, 201, 409])) for _ in range(3000)]
    b = [record(rng.uniform(0, 5000), status=rng.choice([200, 500])) for _ in range(2000)]
    b += [record(2000.0, status=None, error="timeout after 2.0 s") for _ in range(7)]
    merged = ConcurrentResult(a).merge(ConcurrentResult(b))
    whole = ConcurrentResult(a + b)
    assert merged.histogram == whole.histogram
    assert merged.to_dict() == whole.to_dict()
    assert merged.records == a + b
    assert merged.status_codes == whole.status_codes
    assert "timeout after 2.0 s (x7)" in merged.errors


async def test_results_of_two_runners_merge_exactly() -> None:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(status=200 if request.query.get("fail") is None else 503)

    app = web.Application()
    app.router.add_get("/", ok)
    async with (
        serve_app(app) as url,
        ConcurrentTester(url, mode=ConnectionMode.SHARED) as one,
        ConcurrentTester(url, mode=ConnectionMode.PER_USER) as two,
    ):
        first = await one.run_executor(ConstantVUs(2, 0.3), RequestSpec("GET", "/"))
        second = await two.run_executor(ConstantVUs(2, 0.3), RequestSpec("GET", "/?fail=1"))
    merged = first.result.merge(second.result)
    assert merged.total == first.result.total + second.result.total
    assert merged.status_codes == {200: first.result.total, 503: second.result.total}
    reference = LatencyHistogram()
    reference.add(first.result.histogram)
    reference.add(second.result.histogram)
    assert merged.histogram == reference
    assert merged.histogram.count == merged.total
    assert merged.errors == [f"HTTP 503 (x{second.result.total})"]


def test_errors_are_deduplicated_and_bounded() -> None:
    records = [record(1.0, None, "timeout after 2.0 s") for _ in range(7)]
    records += [record(1.0, None, f"weird error {i}") for i in range(100)]
    result = ConcurrentResult(records)
    assert result.errors[0] == "timeout after 2.0 s (x7)"
    assert len(result.errors) == 21
    assert result.errors[-1] == "... 81 more error(s) with other messages"
    assert result.error_count == 107


def test_success_rule_is_configurable() -> None:
    records = [record(1.0, 200), record(1.0, 409), record(1.0, 500)]
    assert ConcurrentResult(records).success_count == 1
    lenient = ConcurrentResult(records, is_success=lambda r: r.status in (200, 409))
    assert (lenient.success_count, lenient.error_count) == (2, 1)


@pytest.fixture
async def echo_url() -> AsyncIterator[str]:
    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"traceparent": request.headers.get("traceparent")})

    app = web.Application()
    app.router.add_get("/", echo)
    async with serve_app(app) as url:
        yield url


async def test_hooks_inject_headers_and_see_every_record(echo_url: str) -> None:
    hooks = RequestHooks()
    done: list[RequestRecord] = []
    hooks.add_before_send(lambda spec: {"traceparent": f"00-{'a' * 32}-{'b' * 16}-01"})
    hooks.add_request_done(done.append)
    async with ConcurrentTester(echo_url, hooks=hooks, keep_body=True) as tester:
        result = await tester.run_concurrent_requests("GET", "/", repeat=3)
    assert [r.json()["traceparent"][:5] for r in result.records] == ["00-aa"] * 3
    assert sorted(map(id, done)) == sorted(map(id, result.records))  # completion order
    assert done[0].sent_headers == {"traceparent": f"00-{'a' * 32}-{'b' * 16}-01"}


async def test_a_failing_listener_is_logged_and_never_breaks_a_run(
    echo_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    hooks = RequestHooks()
    seen: list[RequestRecord] = []

    def broken_headers(spec: RequestSpec) -> dict[str, str]:
        raise RuntimeError("no tracer")

    def broken_metrics(rec: RequestRecord) -> None:
        raise ValueError("bad label")

    hooks.add_before_send(broken_headers)
    hooks.add_request_done(broken_metrics)
    hooks.add_request_done(seen.append)
    async with ConcurrentTester(echo_url, hooks=hooks) as tester:
        result = await tester.run_concurrent_requests("GET", "/", repeat=4)
    assert result.success_count == 4
    assert len(seen) == 4
    assert hooks.failures() == 8
    messages = [r.getMessage() for r in caplog.records]
    assert sum("broken_headers failed" in m for m in messages) == 1
    assert sum("broken_metrics failed" in m for m in messages) == 1
