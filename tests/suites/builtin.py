"""Built-in suites for tests, whole or cut down to some of their scenarios, and what a run of
them got wrong."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping
from contextlib import AbstractAsyncContextManager

from monitor.suites.loading.loader import LoadedSuite, load_suite
from monitor.suites.loading.paths import builtin_suites
from monitor.suites.profile.models import Profile
from monitor.suites.results import RunResult
from monitor.suites.run.runner import RunOptions, run_suites


def builtin(name: str, *scenarios: str) -> LoadedSuite:
    """The built-in suite ``name``; given ``scenarios``, only those (each must exist)."""
    loaded = load_suite(builtin_suites()[name])
    if not scenarios:
        return loaded
    kept = [s for s in loaded.suite.scenarios if s.name in scenarios]
    missing = set(scenarios) - {s.name for s in kept}
    assert not missing, f"suite {name} has no scenario {sorted(missing)}"
    return LoadedSuite(
        loaded.suite.model_copy(update={"scenarios": kept}), loaded.file, loaded.locations
    )


def problems(run: RunResult, budgets: Collection[tuple[str, str]] = ()) -> list[str]:
    """Every errored check, and every failed one but those ``budgets`` allows (``(scenario,
    check)`` pairs), as ``suite/scenario: check: status: observed``."""
    return [
        f"{s.suite}/{s.name}: {c.name}: {c.status}: {c.observed}"
        for s in run.scenarios
        for c in s.checks
        if c.status == "error" or (c.status == "failed" and (s.name, c.name) not in budgets)
    ]


async def races_caught(
    serve: Callable[[], AbstractAsyncContextManager[str]],
    profile: Profile,
    suite: str,
    races: Mapping[str, tuple[str, str]],
    runs: int,
) -> Counter[str]:
    """Run the scenarios of ``races`` (name -> (scenario, guarding check)) of the built-in
    ``suite`` ``runs`` times (seeds 0, 1, ...), each against a fresh ``serve()`` (its URL): in
    how many runs each race's guarding check failed. No scenario may end in an error."""
    suites = [builtin(suite, *{scenario for scenario, _ in races.values()})]
    caught: Counter[str] = Counter()
    for seed in range(runs):
        async with serve() as url:
            run = await run_suites(url, profile, suites, RunOptions(seed=seed))
        failed = {(s.name, c.name) for s in run.scenarios for c in s.failed_checks}
        for race, guard in races.items():
            caught[race] += guard in failed
        assert not any(s.status == "error" for s in run.scenarios)
    return caught
