"""Load an experiment and resolve everything it names before anything runs: each step's kind
and fields (against the kind's settings), the guards, the profile and every suite.

Every problem is ``file:line: field: message`` (the suites' and daemon config's machinery).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from monitor.chaos import guards
from monitor.chaos.action import Action
from monitor.chaos.errors import Refused
from monitor.chaos.experiment.model import Experiment
from monitor.chaos.registry import ACTIONS
from monitor.suites.errors import ConfigError, Problem
from monitor.suites.loading.loader import (
    LoadedProfile,
    LoadedSuite,
    load_model,
    load_profile,
    load_suite,
    resolve_profile,
    resolve_suite,
)
from monitor.suites.loading.validation import problems_from
from monitor.suites.loading.yamlsource import Locations, format_path

PathKey = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class LoadedExperiment:
    """A validated experiment, its built actions (one per step) and resolved suites."""

    experiment: Experiment
    file: str
    actions: tuple[Action[Any], ...]
    profile: LoadedProfile
    suites: Mapping[str, LoadedSuite]
    """Every suite the steady state, during and recovery name, by reference."""

    @property
    def policy(self) -> guards.Policy:
        return guards.Policy(self.experiment.guardrails.allow)


def load_experiment(path: Path | str) -> LoadedExperiment:
    """Load and validate one experiment file; ``ConfigError`` lists every problem."""
    path = Path(path)
    name = str(path)
    experiment, locs = load_model(path, Experiment, "experiment", name)
    return resolve_experiment(experiment, locs, name)


def resolve_experiment(experiment: Experiment, locs: Locations, file: str) -> LoadedExperiment:
    """Build the actions and load the suites and profile of a parsed experiment."""
    problems: list[Problem] = []

    def add(path: PathKey, message: str) -> None:
        problems.append(Problem(locs.file, locs.line_of(path), format_path(path), message))

    policy = guards.Policy(experiment.guardrails.allow)
    actions: list[Action[Any]] = []
    for i, step in enumerate(experiment.method):
        action = _step(problems, locs, ("method", i), step.kind, step.options)
        if action is None:
            continue
        try:
            guards.check(action, policy)
        except Refused as exc:
            add(("method", i, "kind"), f"refused: {exc}")
        actions.append(action)
    profile: LoadedProfile | None = None
    try:
        profile = load_profile(resolve_profile(experiment.target.profile))
    except ConfigError as exc:
        add(("target", "profile"), f"profile {experiment.target.profile!r}: {exc.problems[0]}")
    suites: dict[str, LoadedSuite] = {}
    for section in ("steady_state", "during", "recovery"):
        refs: list[str] = getattr(experiment, section).suites
        for j, ref in enumerate(refs):
            if ref in suites:
                continue
            try:
                suites[ref] = load_suite(resolve_suite(ref), profile.profile if profile else None)
            except ConfigError as exc:
                first = exc.problems[0]
                add((section, "suites", j), f"suite {ref!r}: {first.message}")
                problems.extend(p for p in exc.problems if p.line is not None)
    if problems or profile is None:
        raise ConfigError(problems)
    return LoadedExperiment(experiment, file, tuple(actions), profile, suites)


def _step(
    problems: list[Problem], locs: Locations, path: PathKey, kind: str, options: Mapping[str, Any]
) -> Action[Any] | None:
    if kind not in ACTIONS:
        line = locs.line_of((*path, "kind"))
        problems.append(Problem(locs.file, line, format_path((*path, "kind")),
                                ACTIONS.unknown_message(kind)))  # fmt: skip
        return None
    entry = ACTIONS.get_entry(kind)
    try:
        return entry.create(options)
    except ValidationError as exc:
        inner = Locations(
            locs.file,
            {k[len(path) :]: v for k, v in locs.lines.items() if k[: len(path)] == path},
        )
        prefix = format_path(path)
        for p in problems_from(exc, dict(options), inner, entry.settings):
            field = f"{prefix}.{p.field}" if p.field else prefix
            message = p.message
            if message.startswith("unknown key"):
                own = ", ".join(entry.settings.model_fields)
                message = f"{message}: a {kind} step takes name, after, duration and {own}"
            problems.append(Problem(p.file, p.line or locs.line_of(path), field, message))
        return None


__all__ = ["LoadedExperiment", "load_experiment", "resolve_experiment"]
