"""Experiments end to end on loopback: the reference target, Toxiproxy, real faults."""

from __future__ import annotations

from pathlib import Path

from monitor.chaos.journal import Journal
from monitor.chaos.toxiproxy import Toxiproxy
from tests.chaos.helpers import experiment, proxy_to, run
from tests.plugins.reference import ReferenceFactory
from tests.plugins.target_process import forked_target


async def test_network_fault_breaks_the_slo_during_and_recovers(
    tmp_path: Path, toxiproxy_api: str
) -> None:
    """The latency SLO verdict: met before, broken while 200 +/- 100 ms is added to every
    answer (p95 >= 250 ms whatever the machine's load), met again after. The target runs in a
    process of its own so that its latency is not the workload's CPU time."""
    async with forked_target() as target:
        # the proxy does not exist yet: the steps' setup creates it before the steady state
        where, url = await proxy_to(toxiproxy_api, target, create=False)
        method = [
            {"name": "slow", "kind": "latency", **where, "latency": 200, "jitter": 100,
             "duration": "3s"},
            {"name": "resets", "kind": "reset-peer", **where, "toxicity": 0.05,
             "duration": "3s"},
        ]  # fmt: skip
        result = await run(tmp_path, experiment(url, method, slo={"p95_ms": 250}))
    phases = {p.name: p for p in result.phases}
    assert result.status == "passed", result.reason
    assert phases["during"].slo_met is False
    assert phases["during"].stats["p95_ms"] >= 250
    assert phases["after"].slo_met is True
    assert [a.result for a in result.actions] == ["ok", "ok"]
    conservation = next(c for c in result.checks if c.name.startswith("no committed write"))
    assert conservation.passed is True
    assert await Toxiproxy(toxiproxy_api).toxics(where["proxy"]) == []
    assert Journal(tmp_path / "state").entries() == []


async def test_a_failing_steady_state_skips_with_the_reason(
    tmp_path: Path, toxiproxy_api: str, reference_factory: ReferenceFactory
) -> None:
    faulty = await reference_factory(faults=["lost-update"])
    where, url = await proxy_to(toxiproxy_api, faulty)
    doc = experiment(url, [{"kind": "latency", **where, "latency": 100, "duration": "5s"}],
                     steady_state={"suites": ["points"]})  # fmt: skip
    result = await run(tmp_path, doc)
    assert result.status == "skipped"
    assert result.reason.startswith("steady state: suite points failed")
    assert result.actions == []  # nothing was injected


async def test_an_invariant_broken_mid_way_aborts_and_reverts(
    tmp_path: Path, toxiproxy_api: str, reference_factory: ReferenceFactory
) -> None:
    faulty = await reference_factory(faults=["lost-update"])
    where, url = await proxy_to(toxiproxy_api, faulty)
    method = [
        {"name": "slow", "kind": "latency", **where, "latency": 20, "duration": "60s"},
        {"name": "later", "kind": "bandwidth", **where, "rate": 10, "after": "50s",
         "duration": "5s"},
    ]  # fmt: skip
    doc = experiment(url, method, during={"suites": ["points"]})
    result = await run(tmp_path, doc)
    assert result.status == "aborted"
    assert result.reason.startswith("invariant broken during the fault: suite points")
    slow, later = result.actions
    assert slow.result == "aborted"
    assert slow.reverted_at is not None
    assert later.result == "skipped"
    assert result.duration_s < 45
    assert await Toxiproxy(toxiproxy_api).toxics(where["proxy"]) == []
    # the workload's ledger caught the planted bug too
    conservation = next(c for c in result.checks if c.name.startswith("no committed write"))
    assert conservation.passed is False
    assert "lost" in conservation.observed


async def test_a_burning_error_budget_aborts(
    tmp_path: Path, toxiproxy_api: str, reference_url: str
) -> None:
    where, url = await proxy_to(toxiproxy_api, reference_url)
    method = [{"name": "resets", "kind": "reset-peer", **where, "stream": "both",
               "duration": "60s"}]  # fmt: skip
    doc = experiment(url, method, slo={"error_rate": 0.05},
                     guardrails={"max_burn_rate": 5, "burn_window": "1s"})  # fmt: skip
    result = await run(tmp_path, doc)
    assert result.status == "aborted"
    assert result.reason.startswith("error budget burning ")
    assert result.actions[0].result == "aborted"
    assert result.duration_s < 40
    assert await Toxiproxy(toxiproxy_api).toxics(where["proxy"]) == []


async def test_never_two_experiments_on_one_target(
    tmp_path: Path, toxiproxy_api: str, reference_url: str
) -> None:
    import asyncio

    where, url = await proxy_to(toxiproxy_api, reference_url)
    step = {"kind": "latency", **where, "latency": 10, "duration": "2s"}
    doc = experiment(url, [step], workload=None, steady_state={"slo": False, "baseline": 0},
                     recovery={"slo": False})  # fmt: skip
    first = asyncio.create_task(run(tmp_path / "a", doc))
    await asyncio.sleep(0.5)
    second = await run(tmp_path / "b", doc)
    assert second.status == "skipped"
    assert second.reason == f"another experiment is running against {url}"
    assert (await first).status == "passed"
