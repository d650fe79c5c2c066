"""The benchmark harness (bench/): parsers of each tool's output, measured runs, the targets.

The benchmark itself is not run here (``make bench``); these tests prove that the harness reads
the tools correctly, measures CPU honestly and cleans up every process it starts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import socket
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from bench.generators import GENERATORS
from bench.hold_server import STATS_PATH
from bench.idle import IdleMemory, IdleSample, _stable, server_stats
from bench.nginx import nginx_target
from bench.plan import Plan
from bench.procs import BenchError, free_port, run_measured, service, steady_util
from bench.profiling import package_of
from bench.report import goal_verdict
from bench.rivals import (
    locust_throughput,
    vegeta_needs,
    vegeta_throughput,
    wrk_command,
    wrk_throughput,
)
from bench.scaling import VARIANTS, Scaling, Variant, Window, measure, served
from bench.throughput import RunResult, ratios, run_one, starved, steady_rate

WRK_OUTPUT = """\
Running 5s test @ http://127.0.0.1:34611/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   270.12us  120.40us   4.10ms   91.02%
    Req/Sec   235.78k     4.01k  241.20k    70.00%
  Latency Distribution
     50%  127.00us
     75%  201.00us
     90%  350.00us
     99%    1.11ms
  1197535 requests in 5.10s, 163.31MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec: 234725.82
Transfer/sec:     32.02MB
"""

LOCUST_CSV = """\
Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,\
Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,\
80%,90%,95%,98%,99%,99.9%,99.99%,100%
GET,/,43050,3,3,3.4,0,40,3.0,10752.62,0.75,3,4,4,4,5,6,9,19,30,40,40
,Aggregated,43050,3,3,3.4,0,40,3.0,10752.62,0.75,3,4,4,4,5,6,9,19,30,40,40
"""


def test_wrk_summary_is_read_with_errors_and_percentiles() -> None:
    got = wrk_throughput(WRK_OUTPUT)
    assert got.requests == 1197535
    assert got.rps == pytest.approx(234725.82)
    assert got.errors == 2 + 1 + 4  # read + timeout socket errors and non-2xx answers
    assert got.p50_ms == pytest.approx(0.127)
    assert got.p99_ms == pytest.approx(1.11)


def test_unreadable_wrk_output_is_an_error_naming_it() -> None:
    with pytest.raises(BenchError, match="cannot read wrk"):
        wrk_throughput("unable to connect to 127.0.0.1:1 Connection refused")


def test_locust_aggregated_row_is_read() -> None:
    got = locust_throughput(LOCUST_CSV)
    assert (got.requests, got.errors) == (43050, 3)
    assert got.rps == pytest.approx(10752.62)
    assert (got.p50_ms, got.p99_ms) == (3.0, 19.0)
    with pytest.raises(BenchError, match="no Aggregated row"):
        locust_throughput(LOCUST_CSV.splitlines()[0])


def test_ratios_compare_soakmon_with_every_generator_that_ran() -> None:
    def res(name: str, rps: float, per_cpu: float, util: float) -> RunResult:
        return RunResult(
            name, name, requests=1000, rps=rps, rps_per_cpu_s=per_cpu, rps_per_busy_core=rps / util
        )

    results = [res("soakmon", 30000, 25000, 1.0), res("locust", 10000, 8000, 0.5)]
    results.append(RunResult("wrk", "wrk", skipped="not installed"))
    got = ratios(results)
    assert set(got) == {"locust"}
    assert got["locust"] == {"rps": 3.0, "per_busy_core": 1.5, "per_cpu_s": 3.125}
    assert ratios(results[1:]) == {}  # no soakmon row, nothing to compare


def test_a_generator_starved_of_its_core_is_not_judged() -> None:
    """A generator that got 6 % of its core once measured a bogus 263k req/CPU-s."""
    assert starved("soakmon", 0.5) is None
    assert starved("soakmon", None) is None  # too short to sample: judged as before
    reason = starved("soakmon", 0.06)
    assert reason is not None
    assert "got 6% of its core" in reason
    ours = RunResult("soakmon", "soakmon", requests=1, rps=1.0, rps_per_cpu_s=263_000.0)
    ours.starved = reason
    other = RunResult("locust", "Locust", requests=1, rps=1.0, rps_per_cpu_s=11_000.0)
    got = ratios([ours, other])
    assert got["locust"]["per_cpu_s"] == 0.0
    verdict = goal_verdict("locust", got["locust"], "Locust")
    assert verdict is not None
    assert "not judged" in verdict
    assert "goal met" not in verdict


def test_steady_util_ignores_start_up_and_shutdown() -> None:
    # idle for the first 2 s (imports), then one full core, then idle for the last 1 s
    samples = [(t / 10, max(0.0, min(t / 10, 9.0) - 2.0)) for t in range(101)]
    assert steady_util(samples) == pytest.approx(1.0)
    assert steady_util(samples[:2]) is None


def test_idle_memory_per_vu_uses_requests_really_in_flight() -> None:
    base = IdleSample(vus=1, in_flight=1, rss_kib=40_000, uss_kib=None, settle_s=1, reached=True)
    loaded = IdleSample(10_000, 8_001, 80_000, None, 30, reached=False)
    assert IdleMemory("shared", base, loaded).kib_per_vu == pytest.approx(5.0)
    assert IdleMemory("shared", base, base).kib_per_vu is None


def test_settling_needs_all_vus_in_flight_and_flat_rss() -> None:
    growing = [(t * 0.5, 100, 1000 + 100 * t) for t in range(10)]
    flat = [(t * 0.5, 100, 5000) for t in range(10)]
    assert not _stable(growing, 100)
    assert _stable(flat, 100)
    assert not _stable(flat, 101)


def test_profile_functions_are_grouped_by_package() -> None:
    site = "/w/.venv/lib/python3.11/site-packages"
    assert package_of(f"{site}/aiohttp/client.py") == "aiohttp"
    assert package_of("/work/main/monitor/engine/runner.py") == "soakmon engine"
    assert package_of("~") == "builtins / C calls"


def test_measured_run_counts_the_child_cpu_time() -> None:
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass\n"
    run = run_measured([sys.executable, "-c", burn], timeout=30, sample_every=0.05)
    assert run.returncode == 0
    assert run.cpu_s >= 0.4
    assert run.max_rss_kib > 1000


def test_measured_run_is_killed_at_its_deadline() -> None:
    started = time.monotonic()
    run = run_measured([sys.executable, "-c", "import time; time.sleep(60)"], timeout=0.5)
    assert run.timed_out
    assert run.returncode != 0
    assert time.monotonic() - started < 10


def test_hold_server_holds_requests_and_forgets_clients_that_left(tmp_path: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "bench.hold_server", "--port", str(port), "--hold", "30"]
    with service(argv, port=port, log=tmp_path / "hold.log") as proc:
        clients = [socket.create_connection(("127.0.0.1", port), 5) for _ in range(3)]
        for client in clients:
            client.sendall(b"GET /x HTTP/1.1\r\nHost: bench\r\n\r\n")
        deadline = time.monotonic() + 10
        while server_stats(port)["in_flight"] < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server_stats(port)["in_flight"] == 3
        for client in clients:  # the clients go away without waiting for an answer
            client.close()
        deadline = time.monotonic() + 10
        while server_stats(port)["in_flight"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server_stats(port) == {"in_flight": 0, "peak": 3, "accepted": 3}
        assert STATS_PATH == "/_stats"
    assert not psutil.pid_exists(proc.pid) or psutil.Process(proc.pid).status() == "zombie"


@pytest.mark.skipif(shutil.which("nginx", path="/usr/sbin:/usr/bin") is None, reason="no nginx")
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_wrk_against_private_nginx_is_measured_and_cleaned_up(tmp_path: Path) -> None:
    with nginx_target(tmp_path) as target:
        workers = psutil.Process(target.pid).children()
        assert [w.cpu_affinity() for w in workers] == [[1]]
        plan = Plan(target=target.url, path="/", vus=8, duration_s=1, workdir=tmp_path / "wrk")
        result = run_one(GENERATORS["wrk"], plan)
    assert result.ok, result.failed
    assert result.requests > 1000
    assert result.errors == 0
    assert 0 < result.cpu_s <= result.wall_s + 0.5  # one pinned thread: at most one core
    assert not psutil.pid_exists(target.pid)
    assert all(not psutil.pid_exists(w.pid) for w in workers)


def test_steady_rate_removes_start_up_cost() -> None:
    # 1.5 CPU-s of imports, then 10,000 requests per CPU-second
    short, long = (5_000, 1.5 + 0.5), (95_000, 1.5 + 9.5)
    per_cpu, fixed = steady_rate(short, long)
    assert per_cpu == pytest.approx(10_000)
    assert fixed == pytest.approx(1.5)
    assert steady_rate(long, long) == (None, None)


def test_profile_summary_names_the_hot_function_and_its_package(tmp_path: Path) -> None:
    import cProfile
    import pstats

    from bench.profiling import summarise

    def hot() -> int:
        return sum(i * i for i in range(200_000))

    profiler = cProfile.Profile()
    profiler.runcall(hot)
    out = tmp_path / "p.prof"
    profiler.dump_stats(out)
    got = summarise(pstats.Stats(str(out)), top_n=3)
    assert got.total_s > 0
    assert any("genexpr" in row["function"] or "hot" in row["function"] for row in got.top)
    assert sum(got.by_package.values()) == pytest.approx(got.total_s)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("nginx", path="/usr/sbin:/usr/bin") is None, reason="no nginx")
def test_soakmon_load_row_is_read_from_its_json_report(tmp_path: Path) -> None:
    with nginx_target(tmp_path) as target:
        plan = Plan(target=target.url, path="/", vus=8, duration_s=2, workdir=tmp_path / "s")
        result = run_one(GENERATORS["soakmon"], plan)
    assert result.ok, result.failed or result.skipped
    assert result.requests > 100
    assert result.errors == 0
    assert result.rps == pytest.approx(result.requests / 2, rel=0.3)
    assert result.p50_ms is not None
    assert result.p50_ms > 0


@pytest.mark.slow
def _own_hold_servers() -> list[psutil.Process]:
    found = []
    for proc in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if "bench.hold_server" in " ".join(proc.cmdline()):
                found.append(proc)
    return found


def test_idle_vus_are_counted_in_flight_and_cost_memory(tmp_path: Path) -> None:
    from bench.idle import IDLE_VARIANTS, idle_memory

    got = idle_memory(500, variant=IDLE_VARIANTS[0], workdir=tmp_path, settle_timeout=60)
    assert got.base.reached
    assert got.loaded.reached
    assert got.loaded.in_flight == 500
    assert got.loaded.rss_kib > got.base.rss_kib
    assert got.kib_per_vu is not None
    assert 0 < got.kib_per_vu < 1024
    # our own hold servers are gone (others' may run: the machine can be shared)
    assert _own_hold_servers() == []


def test_vegeta_json_report_is_read_with_errors_and_percentiles() -> None:
    doc = {
        "latencies": {"50th": 1_250_000, "99th": 9_000_000, "max": 20_000_000},
        "requests": 1000,
        "rate": 100.1,
        "throughput": 99.9,
        "status_codes": {"200": 990, "0": 4, "503": 6},
        "errors": ["connection refused"],
    }
    got = vegeta_throughput(doc)
    assert (got.requests, got.errors, got.rps) == (1000, 10, 99.9)
    assert (got.p50_ms, got.p99_ms) == (1.25, 9.0)


@pytest.mark.skipif(shutil.which("nginx", path="/usr/sbin:/usr/bin") is None, reason="no nginx")
@pytest.mark.skipif(vegeta_needs() is not None, reason="vegeta is not built (make bench builds it)")
def test_vegeta_against_private_nginx_is_measured(tmp_path: Path) -> None:
    with nginx_target(tmp_path) as target:
        plan = Plan(target=target.url, path="/", vus=8, duration_s=1, workdir=tmp_path / "veg")
        result = run_one(GENERATORS["vegeta"], plan)
    assert result.ok, result.failed
    assert result.requests > 500
    assert result.errors == 0
    assert result.p50_ms is not None
    assert result.p99_ms is not None
    assert 0 < result.p50_ms <= result.p99_ms


def _window(requests: int, cpu_s: float) -> Window:
    return Window(requests=requests, cpu_s=cpu_s, wall_s=1.0, shares=[cpu_s])


def test_scaling_verdict_is_the_median_round_of_two_workers_over_one_process() -> None:
    scaling = Scaling(
        rounds=[
            {"one": _window(100_000, 1.0), "two-one-core": _window(80_000, 1.0)},
            {"one": _window(100_000, 1.0), "two-one-core": _window(95_000, 1.0)},
            {"one": _window(50_000, 0.5), "two-one-core": _window(93_000, 1.0)},
        ]
    )
    assert scaling.ratio("two-one-core") == pytest.approx([0.80, 0.95, 0.93])
    assert scaling.median("two-one-core") == pytest.approx(0.93)
    assert scaling.met is True
    assert scaling.median("two-spread") is None  # not measured: no verdict, no zero
    scaling.rounds[1]["two-one-core"] = _window(85_000, 1.0)
    assert scaling.met is False


@pytest.mark.skipif(shutil.which("nginx", path="/usr/sbin:/usr/bin") is None, reason="no nginx")
def test_nginx_counts_every_request_it_answered(tmp_path: Path) -> None:
    with nginx_target(tmp_path) as target:
        before = served(target.url)
        for _ in range(5):
            with urllib.request.urlopen(target.url + "/") as answer:
                assert answer.read() == b"ok\n"
        assert served(target.url) - before - 1 == 5  # the second read counts itself


@pytest.mark.skipif(shutil.which("nginx", path="/usr/sbin:/usr/bin") is None, reason="no nginx")
def test_two_worker_window_opens_once_both_workers_run(tmp_path: Path) -> None:
    variant = next(v for v in VARIANTS if v.name == "two-one-core")
    with nginx_target(tmp_path) as target:
        plan = Plan(target=target.url, path="/", vus=4, duration_s=3, workdir=tmp_path / "two")
        window = measure(variant, plan)
    assert len(window.shares) == 3  # the parent and both workers were in the window
    assert all(share > 0 for share in window.shares[1:])
    assert window.requests > 1000
    assert window.wall_s >= 0.3  # the window opened once all 4 connections were up
    assert window.rps * window.wall_s == pytest.approx(window.requests)
    assert 0 < window.cpu_s <= window.wall_s * 1.05 + 0.05  # all pinned to one core


def test_a_variant_that_fails_is_an_error_naming_it(tmp_path: Path) -> None:
    plan = Plan(target="http://127.0.0.1:1", path="/", vus=1, duration_s=1, workdir=tmp_path)
    broken = Variant("broken", "a generator that exits at once", lambda _: ["false"], "0")
    with pytest.raises(BenchError, match="a generator that exits at once exited 1"):
        measure(broken, plan)


@pytest.mark.skipif(shutil.which("nginx", path="/usr/sbin:/usr/bin") is None, reason="no nginx")
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_a_window_never_opens_before_every_connection_is_up(tmp_path: Path) -> None:
    """A generator holding 2 of the 4 connections asked for never reaches its steady state."""
    half = Variant("half", "wrk with half its connections",
                   lambda plan: wrk_command(dataclasses.replace(plan, vus=2)), "0")  # fmt: skip
    with nginx_target(tmp_path) as target:
        plan = Plan(target=target.url, path="/", vus=4, duration_s=2, workdir=tmp_path / "half")
        with pytest.raises(BenchError, match="its 4 connections were not all open"):
            measure(half, plan)
