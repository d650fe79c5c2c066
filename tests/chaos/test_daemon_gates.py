"""A daemon-scheduled experiment asks the daemon's own view of its target: its suites' latest
runs and SLO verdicts before the method (else skipped with the reason), and the soak's error
budget during it (burning too fast aborts and reverts). Real reference targets, Toxiproxy and
daemon; no mocks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitor.chaos.toxiproxy import Toxiproxy
from monitor.daemon.config import DaemonConfig
from monitor.daemon.resolve import config_problems
from monitor.suites.loading.yamlsource import Locations
from tests.chaos.helpers import experiment, proxy_to, write
from tests.daemon.conftest import running_daemon, wait_for


def _results(daemon: Any, job: str) -> list[dict[str, Any]]:
    return [r for r in daemon.chaos.results if r["job"] == job]


async def test_the_daemons_failing_suite_and_slo_skip_the_experiment_a_healthy_target_runs(
    tmp_path: Path, toxiproxy_api: str, reference_factory: Any
) -> None:
    clean, broken = await reference_factory(), await reference_factory(faults=["overdraft"])
    where_c, url_c = await proxy_to(toxiproxy_api, clean)
    where_b, url_b = await proxy_to(toxiproxy_api, broken)
    step = {"name": "slow", "kind": "latency", "latency": 20, "duration": "1s"}
    lax = {"p95_ms": 10000}  # this test judges the daemon's gate, not the experiment's SLO
    exp_c = write(tmp_path, experiment(url_c, [{**step, **where_c}], slo=lax), "clean.yaml")
    exp_b = write(tmp_path, experiment(url_b, [{**step, **where_b}], slo=lax), "broken.yaml")
    suite = {
        "suite": "points",
        "schedule": {"every": "1h"},
        "scenarios": ["concurrent-points-deduction"],
        "attempts": 2,
    }
    gate = {
        "steady_state": {"suites": ["points"], "slos": ["error_rate"]},
        "schedule": {"every": "2s"},
    }
    config = {
        "targets": {"clean": {"url": url_c}, "broken": {"url": url_b}},
        "suites": [{**suite, "target": "clean"}, {**suite, "target": "broken"}],
        "soak": [{"name": "c", "target": "clean", "vus": 2, "window": "0.5s", "think_time": 0.02,
                  "requests": [{"path": "/readyz"}]},
                 {"name": "b", "target": "broken", "vus": 2, "window": "0.5s", "think_time": 0.02,
                  "requests": [{"path": "/no-such-page"}]}],
        "slo": {"window": "30s", "min_requests": 10},
        "probes": [],
        "chaos": {"state_dir": str(tmp_path / "state"), "experiments": [
            {"experiment": str(exp_c), "target": "clean", **gate},
            {"experiment": str(exp_b), "target": "broken", **gate},
        ]},
    }  # fmt: skip
    async with running_daemon(config) as daemon:

        def judged() -> bool:
            ran = any(r["actions"] for r in _results(daemon, "clean#0"))
            reasons = [r.get("reason") or "" for r in _results(daemon, "broken#1")]
            return ran and any("failed its latest run" in r and "does not hold" in r
                               for r in reasons)  # fmt: skip

        await wait_for(judged, 90, "a run on the clean target and a judged skip", 0.2)
        broken_runs = _results(daemon, "broken#1")
        assert broken_runs
        assert all(r["status"] == "skipped" for r in broken_runs)
        assert all(not r["actions"] for r in broken_runs), "nothing injected on broken"
        reason = next(r["reason"] for r in broken_runs if "does not hold" in r["reason"])
        assert reason.startswith("steady state: suite points@broken failed its latest run")
        assert "SLO error_rate of target broken does not hold (100.00%" in reason
        # the healthy target's gate refuses only until its suite and SLO have been judged
        for r in _results(daemon, "clean#0"):
            if r["status"] == "skipped":
                assert "does not hold" not in r["reason"], r
                assert "failed its latest run" not in r["reason"], r
    assert await Toxiproxy(toxiproxy_api).toxics(where_c["proxy"]) == []


async def test_the_soaks_burning_error_budget_aborts_the_experiment_and_reverts(
    tmp_path: Path, toxiproxy_api: str, reference_url: str
) -> None:
    where, url = await proxy_to(toxiproxy_api, reference_url)
    # the experiment's own workload has no burn guard: only the soak can abort it
    exp = write(tmp_path, experiment(url, [{"name": "reset", "kind": "reset-peer", **where,
                                            "duration": "30s"}]))  # fmt: skip
    config = {
        "targets": {"ref": {"url": url, "timeout": "2s"}},
        "soak": [{"name": "s", "target": "ref", "vus": 2, "window": "0.5s", "think_time": 0.02,
                  "requests": [{"path": "/readyz"}]}],
        "probes": [],
        "slo": {"min_requests": 10},
        "chaos": {"state_dir": str(tmp_path / "state"), "experiments": [
            {"experiment": str(exp), "target": "ref", "schedule": {"every": "1h"},
             "soak_burn": {"max_burn_rate": 2, "window": "3s"}}]},
    }  # fmt: skip
    async with running_daemon(config) as daemon:
        await wait_for(lambda: bool(daemon.chaos.results), 60, "the experiment's result", 0.2)
        result = daemon.chaos.results[0]
    assert result["status"] == "aborted", result
    assert "the soak's error budget on target ref burning" in result["reason"], result
    assert "> soak_burn.max_burn_rate 2" in result["reason"]
    assert result["duration_s"] < 25, "aborted long before the 30 s fault would end"
    assert [a["result"] for a in result["actions"]] == ["aborted"]
    assert await Toxiproxy(toxiproxy_api).toxics(where["proxy"]) == []


@pytest.mark.parametrize(
    ("job", "expected"),
    [
        ({"steady_state": {"suites": ["points"]}}, "set `target`"),
        ({"target": "ref", "soak_burn": {"max_burn_rate": 0}}, "greater than 0"),
    ],
)
def test_a_gate_without_a_target_or_with_a_bad_rate_is_a_config_error(
    job: dict[str, Any], expected: str, tmp_path: Path
) -> None:
    from pydantic import ValidationError

    exp = write(tmp_path, experiment("http://127.0.0.1:9", [{"kind": "latency", "latency": 1,
                                                              "api": "http://127.0.0.1:9",
                                                              "proxy": "p"}]))  # fmt: skip
    doc = {"targets": {"ref": {"url": "http://127.0.0.1:9"}},
           "chaos": {"experiments": [{"experiment": str(exp), "schedule": {"every": "1h"},
                                      **job}]}}  # fmt: skip
    with pytest.raises(ValidationError, match=expected):
        DaemonConfig.model_validate(doc)


def test_a_steady_state_suite_not_scheduled_on_the_target_names_what_is(tmp_path: Path) -> None:
    exp = write(tmp_path, experiment("http://127.0.0.1:9", [{"kind": "latency", "latency": 1,
                                                              "api": "http://127.0.0.1:9",
                                                              "proxy": "p"}]))  # fmt: skip
    doc = {
        "targets": {"ref": {"url": "http://127.0.0.1:9"}, "other": {"url": "http://127.0.0.1:9"}},
        "suites": [{"suite": "points", "target": "other", "schedule": {"every": "1h"}}],
        "chaos": {"experiments": [{"experiment": str(exp), "target": "ref",
                                   "schedule": {"every": "1h"},
                                   "steady_state": {"suites": ["points"]}}]},
    }  # fmt: skip
    problems = config_problems(DaemonConfig.model_validate(doc), Locations(tmp_path / "d.yaml"))
    assert [(p.field, p.message) for p in problems] == [
        ("chaos.experiments[0].steady_state.suites[0]",
         "no suite 'points' is scheduled on target 'ref' (scheduled there: none)"),
    ]  # fmt: skip
