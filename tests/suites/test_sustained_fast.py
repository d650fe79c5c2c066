"""A sustained-load phase goes through the fast path when it qualifies, and its operations are
interpreted as through aiohttp: the same outcome codes per operation, every call accounted,
the transport named in the saved throughput (reference target on loopback, bounded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from monitor.engine import ConnectionMode
from monitor.reference import ReferenceServer
from monitor.suites.loading.loader import load_profile, load_suite
from monitor.suites.loading.paths import builtin_profiles
from monitor.suites.results.run import ScenarioResult
from monitor.suites.run.runner import RunOptions, run_suites

PROFILE = load_profile(builtin_profiles()["reference"]).profile


def suite_file(tmp_path: Path, fast_path: bool) -> Path:
    doc: dict[str, Any] = {
        "name": "sustained",
        "scenarios": [{
            "name": "loop",
            "setup": [{"op": "register", "count": 3, "save": "vus"},
                      {"op": "tasks.create", "user": "vus", "args": {"title": "t"},
                       "save": "task"}],
            "phases": [{
                "load": {"vus": 3, "duration_s": 1.0, "window_s": 0.5, "fast_path": fast_path},
                "ops": [{"op": "points.balance", "user": "vus"},
                        {"op": "points.deduct", "user": "vus", "args": {"amount": 1000000}},
                        {"op": "tasks.get", "user": "vus",
                         "args": {"task_id": "${session.task.id}"}}],
            }],
            "checks": [{"name": "balances read", "cel": "true"}],
        }],
    }  # fmt: skip
    path = tmp_path / f"sustained-{fast_path}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


async def test_a_sustained_load_runs_on_the_fast_path_with_the_same_outcomes(
    tmp_path: Path,
) -> None:
    results: dict[bool, ScenarioResult] = {}
    async with ReferenceServer() as server:
        for use_fast in (False, True):
            run = await run_suites(
                server.url, PROFILE, [load_suite(suite_file(tmp_path, use_fast))],
                RunOptions(seed=7),
            )  # fmt: skip
            (scenario,) = run.scenarios
            assert scenario.status == "passed", scenario.checks
            results[use_fast] = scenario
        per_user = await run_suites(
            server.url, PROFILE, [load_suite(suite_file(tmp_path, True))],
            RunOptions(seed=8, mode=ConnectionMode.PER_USER),
        )  # fmt: skip
    slow, fast = results[False], results[True]
    assert slow.state["throughput"]["transport"] == "aiohttp (fast_path: false)"
    assert fast.state["throughput"]["transport"] == "fast path"
    assert (
        per_user.scenarios[0]
        .state["throughput"]["transport"]
        .startswith("aiohttp (per-user connections")
    )
    assert slow.requests.keys() == fast.requests.keys()
    for result in (slow, fast):
        codes = result.outcomes
        assert set(codes["points.balance"]) == {"ok"}
        assert set(codes["points.deduct"]) == {"insufficient_points"}
        assert set(codes["tasks.get"]) == {"ok"}
        loops = [sum(codes[op].values()) for op in ("points.balance", "points.deduct")]
        assert loops[0] - loops[1] in range(0, 4)  # each VU alternates: at most one ahead
        assert result.requests["status_codes"].keys() == {"200", "409"}
        assert result.requests["error_count"] == result.requests["status_codes"]["409"]
        assert result.state["throughput"]["total"] > 30
