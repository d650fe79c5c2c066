"""`soakmon run --shard I/N --pushgateway URL` against a real Pushgateway (Debian's
prometheus-pushgateway) scraped by a real Prometheus: the queries documented in
docs/kubernetes.md combine the shards into the run's request count and failed-check count."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.chart import ROOT
from tests.plugins.prometheus import StartPrometheus, free_port
from tests.plugins.reference import ReferenceFactory

DOC = ROOT / "docs" / "kubernetes.md"
CLI = (sys.executable, "-c", "from monitor.cli.app import main; main()")


def documented_queries() -> dict[str, str]:
    """The PromQL blocks of docs/kubernetes.md, by their ``<!-- promql:NAME -->`` marker."""
    text = DOC.read_text()
    found = re.findall(r"<!-- promql:(\w+) -->\n```promql\n(.+?)\n```", text, re.S)
    return dict(found)


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("prometheus-pushgateway") or shutil.which("pushgateway")
    if binary is None:
        message = "prometheus-pushgateway is not installed (apt-get install prometheus-pushgateway)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    port = free_port()
    log = (tmp_path / "pushgateway.log").open("wb")
    # Debian's build persists to /var/lib/prometheus/pushgateway.data by default: keep the
    # test's metrics in memory, or groups of earlier runs come back.
    proc = subprocess.Popen(
        [binary, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail((tmp_path / "pushgateway.log").read_text())
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(10)


def query(prom_url: str, expr: str) -> list[dict[str, Any]]:
    q = urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(f"{prom_url}/api/v1/query?{q}", timeout=10) as resp:
        body = json.load(resp)
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def wait_for_data(prom_url: str, expr: str, timeout_s: float = 30.0) -> None:
    """Until Prometheus has scraped something for ``expr`` (it scrapes every second)."""
    deadline = time.monotonic() + timeout_s
    while not query(prom_url, expr):
        if time.monotonic() > deadline:
            pytest.fail(f"no data for {expr} after {timeout_s} s")
        time.sleep(0.5)


async def _run_shard(target: str, gateway: str, shard: str, report: Path) -> int:
    proc = await asyncio.create_subprocess_exec(
        *CLI, "run", "points", "--target", target,
        "--shard", shard, "--pushgateway", gateway, "--json", str(report), "--quiet",
        "--seed", "7", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate()
    assert b"pushed metrics of 1 suite(s)" in err, err.decode()
    return proc.returncode if proc.returncode is not None else -1


@pytest.mark.slow
async def test_two_shards_add_up_in_prometheus(
    reference_factory: ReferenceFactory,
    pushgateway: str,
    start_prometheus: StartPrometheus,
    tmp_path: Path,
) -> None:
    # An overdraft bug: some points checks fail, so the failed-check count is not trivially 0.
    target = await reference_factory(faults=["overdraft"])
    reports = [tmp_path / "shard0.json", tmp_path / "shard1.json"]
    codes = await asyncio.gather(
        _run_shard(target, pushgateway, "0/2", reports[0]),
        _run_shard(target, pushgateway, "1/2", reports[1]),
    )
    docs = [json.loads(p.read_text()) for p in reports]
    scenarios = [
        {sc["name"] for s in d["suites"] for sc in s["scenarios"]} for d in docs
    ]  # fmt: skip
    assert scenarios[0]
    assert scenarios[1]
    assert not scenarios[0] & scenarios[1]  # disjoint shards
    failed_checks = sum(
        1 for d in docs for s in d["suites"] for sc in s["scenarios"] for c in sc["checks"]
        if not c["passed"]
    )  # fmt: skip
    assert failed_checks > 0
    assert 1 in codes  # the shard holding the overdraft scenario failed

    prom = start_prometheus([pushgateway.removeprefix("http://")], honor_labels=True)
    queries = documented_queries()
    assert set(queries) >= {"requests", "failed_checks", "error_ratio", "p95_seconds"}
    wait_for_data(prom.url, queries["requests"])
    instances = {r["metric"]["instance"] for r in query(prom.url, "soakmon_suite_runs_total")}
    assert instances == {"shard-0-of-2", "shard-1-of-2"}
    targets = {r["metric"].get("target") for r in query(prom.url, "soakmon_requests_total")}
    assert targets == {target}

    (requests,) = query(prom.url, queries["requests"])
    pushed = sum(float(r["value"][1]) for r in query(prom.url, "soakmon_requests_total"))
    assert float(requests["value"][1]) == pushed
    # The metrics count every request of a scenario (setup and read-back too); the reports
    # count the requests of its phases.
    reported = sum(
        sc["requests"]["total"] for d in docs for s in d["suites"] for sc in s["scenarios"]
    )
    print(f"requests: prometheus {requests['value'][1]}, reports {reported}")
    assert float(requests["value"][1]) >= reported > 0

    (failed,) = query(prom.url, queries["failed_checks"])
    assert int(float(failed["value"][1])) == failed_checks
    (ratio,) = query(prom.url, queries["error_ratio"])
    assert 0 <= float(ratio["value"][1]) <= 1
    (p95,) = query(prom.url, queries["p95_seconds"])
    assert float(p95["value"][1]) > 0


def test_unreachable_target_still_pushes_a_failed_run(pushgateway: str) -> None:
    proc = subprocess.run(
        [*CLI, "run", "points", "--target", f"http://127.0.0.1:{free_port()}", "--quiet",
         "--pushgateway", pushgateway, "--push-job", "ci"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    with urllib.request.urlopen(f"{pushgateway}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    line = next(
        ln for ln in text.splitlines()
        if ln.startswith("soakmon_suite_runs_total{") and 'job="ci"' in ln
    )  # fmt: skip
    assert 'result="failed"' in line
    assert 'instance="all"' in line
    assert 'suite="points"' in line
    assert line.endswith(" 1")


def test_unreachable_pushgateway_does_not_change_the_exit_code() -> None:
    proc = subprocess.run(
        [*CLI, "run", "points", "--target", f"http://127.0.0.1:{free_port()}", "--quiet",
         "--pushgateway", f"http://127.0.0.1:{free_port()}"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 3
    assert "error: metrics not pushed: pushgateway http://127.0.0.1:" in proc.stderr
