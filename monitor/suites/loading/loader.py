"""Load and validate suites and profiles: typed models first, then cross-field checks.

Every problem names file, line and field (``scenarios/points.yaml:14: scenarios[0].phases[0]
.ops[1].count: must be > 0``). Nothing runs before a file validates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from monitor.suites.errors import ConfigError, Problem
from monitor.suites.loading import paths
from monitor.suites.loading.profile_checks import profile_problems
from monitor.suites.loading.suite_checks import suite_problems
from monitor.suites.loading.validation import problems_from
from monitor.suites.loading.yamlsource import Locations, as_mapping, load_yaml
from monitor.suites.profile.models import Profile
from monitor.suites.suite.models import Suite

Kind = Literal["suite", "profile"]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class LoadedSuite:
    """A validated suite and where it came from."""

    suite: Suite
    file: str
    locations: Locations


@dataclass(frozen=True, slots=True)
class LoadedProfile:
    """A validated profile and where it came from."""

    profile: Profile
    file: str
    locations: Locations


def _display(path: Path) -> str:
    return paths.display_name(path)


def detect_kind(data: Mapping[str, Any]) -> Kind:
    """A profile has ``operations`` and no ``scenarios`` (a suite may declare the operations it
    needs); anything else is treated as a suite."""
    return "profile" if "operations" in data and "scenarios" not in data else "suite"


def load_model(path: Path, model: type[M], what: str, name: str) -> tuple[M, Locations]:
    """Parse ``path`` (shown as ``name``) into ``model``; ``ConfigError`` names file, line and
    field of every problem. Shared by suites, profiles and the daemon config."""
    raw, locs = load_yaml(path, name)
    data = as_mapping(raw, locs, what)
    try:
        return model.model_validate(data), locs
    except ValidationError as exc:
        raise ConfigError(problems_from(exc, data, locs, model)) from None


def load_suite(path: Path | str, profile: Profile | None = None) -> LoadedSuite:
    """Load one suite file; raise ``ConfigError`` listing every problem. With ``profile``, the
    suite may use every operation the profile defines, and outcome names are checked against
    the outcomes the profile can produce."""
    path = Path(path)
    name = _display(path)
    suite, locs = load_model(path, Suite, "suite", name)
    problems = suite_problems(suite, locs, profile)
    if problems:
        raise ConfigError(problems)
    return LoadedSuite(suite, name, locs)


def load_profile(path: Path | str) -> LoadedProfile:
    """Load one profile file; raise ``ConfigError`` listing every problem."""
    path = Path(path)
    name = _display(path)
    profile, locs = load_model(path, Profile, "profile", name)
    problems = profile_problems(profile, locs)
    if problems:
        raise ConfigError(problems)
    return LoadedProfile(profile, name, locs)


def validate_file(path: Path, profile: Profile | None = None) -> tuple[Kind | None, list[Problem]]:
    """Validate a suite or profile file (kind detected from its content); a suite against
    ``profile`` when one is given."""
    name = _display(path)
    try:
        raw, locs = load_yaml(path, name)
        data = as_mapping(raw, locs, "suite or profile")
    except ConfigError as exc:
        return None, exc.problems
    kind = detect_kind(data)
    try:
        if kind == "profile":
            load_profile(path)
        else:
            load_suite(path, profile)
    except ConfigError as exc:
        return kind, exc.problems
    return kind, []


def resolve_suite(ref: str) -> Path:
    """A suite by built-in name (``points``) or by path."""
    return paths.resolve(ref, paths.builtin_suites(), "suite")


def resolve_profile(ref: str) -> Path:
    """A profile by built-in name (``reference``) or by path."""
    return paths.resolve(ref, paths.builtin_profiles(), "profile")
