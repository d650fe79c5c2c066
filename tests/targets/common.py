"""Running built-in scenarios against the stand-ins of this folder."""

from __future__ import annotations

from pathlib import Path

from monitor.suites.loading.loader import LoadedSuite, load_profile, load_suite
from monitor.suites.loading.paths import builtin_suites
from monitor.suites.profile.models import Profile
from monitor.suites.results import RunResult, ScenarioResult

HERE = Path(__file__).parent


def profile(name: str) -> Profile:
    """A profile of this folder (``rpc``, ``lottery``, ``venue``)."""
    return load_profile(HERE / f"{name}-profile.yaml").profile


def only(suite: str, *names: str) -> LoadedSuite:
    """A built-in suite with only the scenarios ``names`` (all when none is given)."""
    loaded = load_suite(builtin_suites()[suite])
    if not names:
        return loaded
    kept = [s for s in loaded.suite.scenarios if s.name in names]
    assert len(kept) == len(names), f"{suite}: no scenario among {names}"
    return LoadedSuite(
        loaded.suite.model_copy(update={"scenarios": kept}), loaded.file, loaded.locations
    )


def scenario(run: RunResult, name: str) -> ScenarioResult:
    return next(s for s in run.scenarios if s.name == name)


def problems(run: RunResult) -> list[str]:
    """Every failed or errored check, as ``suite/scenario: check: observed``."""
    return [
        f"{s.suite}/{s.name}: {c.name}: {c.observed}"
        for s in run.scenarios
        for c in s.checks
        if c.status in ("failed", "error")
    ]
