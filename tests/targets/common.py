"""Running built-in scenarios against the stand-ins of this folder."""

from __future__ import annotations

from pathlib import Path

from monitor.suites.loading.loader import load_profile
from monitor.suites.profile.models import Profile
from monitor.suites.results import RunResult, ScenarioResult

HERE = Path(__file__).parent


def profile(name: str) -> Profile:
    """A profile of this folder (``rpc``, ``lottery``, ``venue``)."""
    return load_profile(HERE / f"{name}-profile.yaml").profile


def scenario(run: RunResult, name: str) -> ScenarioResult:
    return next(s for s in run.scenarios if s.name == name)
