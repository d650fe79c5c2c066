"""Concurrent phases of a suite go through the synchronised sender: ``soakmon run --sync``
(default auto), a scenario's or phase's ``sync:``, and each phase's measured delivery."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from monitor.engine import ConnectionMode, SyncMode
from monitor.reference import ReferenceServer
from monitor.suites.errors import ConfigError
from monitor.suites.loading.loader import LoadedSuite, load_profile, load_suite
from monitor.suites.loading.paths import builtin_profiles, builtin_suites
from monitor.suites.run import scenario as scenario_module
from monitor.suites.run.attempts import AttemptPolicy
from monitor.suites.run.phase import PhaseOutcome
from monitor.suites.run.runner import RunOptions, run_suites

PROFILE = load_profile(builtin_profiles()["reference"]).profile
ONE = AttemptPolicy(attempts=1, max_spread_s=None)  # one attempt, never re-run as weak


def _deduction(phase_sync: str | None = None) -> LoadedSuite:
    loaded = load_suite(builtin_suites()["points"])
    scenario = next(s for s in loaded.suite.scenarios if s.name == "concurrent-points-deduction")
    if phase_sync is not None:
        phases = [p.model_copy(update={"sync": phase_sync}) for p in scenario.phases]
        scenario = scenario.model_copy(update={"phases": phases})
    suite = loaded.suite.model_copy(update={"scenarios": [scenario]})
    return LoadedSuite(suite, loaded.file, loaded.locations)


@pytest.fixture
def phases(monkeypatch: pytest.MonkeyPatch) -> list[PhaseOutcome]:
    """Every phase outcome of the run (the scenario runner's own ``run_phase``, recorded)."""
    seen: list[PhaseOutcome] = []
    real = scenario_module.run_phase

    async def recording(*args: Any, **kwargs: Any) -> PhaseOutcome:
        outcome = await real(*args, **kwargs)
        seen.append(outcome)
        return outcome

    monkeypatch.setattr(scenario_module, "run_phase", recording)
    return seen


@pytest.mark.parametrize("mode", [ConnectionMode.PER_USER, ConnectionMode.SHARED])
async def test_the_default_run_delivers_each_phase_last_byte(
    phases: list[PhaseOutcome], mode: ConnectionMode
) -> None:
    async with ReferenceServer() as server:
        run = await run_suites(
            server.url, PROFILE, [_deduction()], RunOptions(seed=5, mode=mode, attempts=ONE)
        )
    assert run.passed
    (phase,) = phases
    delivery = phase.delivery
    assert delivery is not None
    assert delivery.sync == "last-byte"
    assert delivery.requests == delivery.released == len(phase.calls) == 13
    assert delivery.send_spread_s is not None
    assert delivery.arrivals == 13  # the reference target says when each request arrived
    assert delivery.arrival_spread_s is not None


async def test_a_phase_can_ask_for_no_synchronisation(phases: list[PhaseOutcome]) -> None:
    async with ReferenceServer() as server:
        run = await run_suites(
            server.url,
            PROFILE,
            [_deduction("none")],
            RunOptions(sync=SyncMode.LAST_BYTE, attempts=ONE),
        )
    assert run.passed
    (phase,) = phases
    assert phase.delivery is not None
    assert phase.delivery.sync == "none"
    assert phase.delivery.connections_warm is False


def test_a_bad_sync_value_names_file_line_and_field(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        name: s
        scenarios:
          - name: one
            sync: tight
            phases:
              - ops: [{op: points.deduct, args: {amount: 1}}]
            checks:
              - {check: all_succeed, args: {kind: points.deduct}}
        """
    )
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    problems = [str(p) for p in info.value.problems]
    assert any(":4:" in p and "sync" in p for p in problems), problems


async def test_the_same_scenario_gives_the_same_outcomes_either_way() -> None:
    """Same seed, same traffic: what the scenario observed does not depend on delivery."""
    seen = {}
    for sync in (SyncMode.NONE, SyncMode.LAST_BYTE):
        async with ReferenceServer() as server:
            run = await run_suites(
                server.url, PROFILE, [_deduction()], RunOptions(seed=11, sync=sync, attempts=ONE)
            )
        (scenario,) = run.scenarios
        seen[sync] = (
            scenario.status,
            scenario.requests["status_codes"],
            scenario.outcomes,
            [(c.name, c.status) for c in scenario.checks],
        )
    assert seen[SyncMode.NONE] == seen[SyncMode.LAST_BYTE]
    assert seen[SyncMode.NONE][0] == "passed"
