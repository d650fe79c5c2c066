"""Resolve every name a daemon config refers to, before anything runs.

Targets of suites, soaks, bursts and probes; suites (built-in or file) and their scenario
filters and parameters; each target's profile; soak operations against that profile; probe
kinds and their fields. Each problem is ``file:line: field: message``; problems of a referenced
suite or profile file are listed with their own file and line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from monitor.daemon.config import DaemonConfig, suite_keys
from monitor.daemon.config.chaos import ChaosJob
from monitor.observe.probes.registry import PROBE_KINDS
from monitor.suites.errors import ConfigError, Problem
from monitor.suites.loading.loader import (
    LoadedProfile,
    LoadedSuite,
    load_profile,
    load_suite,
    resolve_profile,
    resolve_suite,
)
from monitor.suites.loading.validation import problems_from
from monitor.suites.loading.yamlsource import Locations, format_path

PathKey = tuple[str | int, ...]

SOAK_LOGIN_OPS = ("register", "login")
"""A profile soak's users sign in with ``login`` when the profile maps it, else ``register``."""


class _Report:
    def __init__(self, locs: Locations) -> None:
        self.locs = locs
        self.problems: list[Problem] = []

    def add(self, path: PathKey, message: str) -> None:
        self.problems.append(
            Problem(self.locs.file, self.locs.line_of(path), format_path(path), message)
        )

    def nested(self, path: PathKey, what: str, ref: str, exc: ConfigError) -> None:
        """A referenced file is missing or invalid: say so here, then list its own problems."""
        own = [p for p in exc.problems if p.file != ref or p.line is not None or p.field]
        if not own:  # unknown name / no such file: the message is about our reference
            for p in exc.problems:
                unknown = f"unknown {what}"
                if p.message.startswith(unknown):
                    self.add(path, f"{unknown} {ref!r}{p.message[len(unknown) :]}")
                else:
                    self.add(path, f"{p.message}: {ref}")
            return
        self.add(path, f"{what} {ref!r} is invalid ({len(own)} problem(s) below)")
        self.problems.extend(own)


def config_problems(cfg: DaemonConfig, locs: Locations) -> list[Problem]:
    """Every unresolved reference of ``cfg`` (empty when everything resolves)."""
    report = _Report(locs)
    targets = sorted(cfg.targets)
    profiles = _profiles(cfg, report)

    def known_target(path: PathKey, name: str | None) -> bool:
        if name is None or name in cfg.targets:
            return True
        report.add(path, f"unknown target {name!r} (targets: {', '.join(targets)})")
        return False

    for i, job in enumerate(cfg.suites):
        known_target(("suites", i, "target"), job.target)
        _suite_job(report, i, job.suite, job.scenarios, job.params)
    for i, soak in enumerate(cfg.soak):
        if known_target(("soak", i, "target"), soak.target) and soak.operations:
            _soak_operations(report, i, [op.op for op in soak.operations], profiles[soak.target])
    for i, burst in enumerate(cfg.bursts):
        known_target(("bursts", i, "target"), burst.target)
    for i, probe in enumerate(cfg.probes):
        known_target(("probes", i, "target"), probe.target)
        _probe(report, locs, i, probe.kind, probe.options)
    for i, chaos_job in enumerate(cfg.chaos.experiments):
        known_target(("chaos", "experiments", i, "target"), chaos_job.target)
        _experiment(report, i, chaos_job.experiment)
        _steady_suites(report, cfg, i, chaos_job)
    _unique(report, "soak", [s.name for s in cfg.soak])
    _unique(report, "bursts", [b.name for b in cfg.bursts])
    _unique(report, "probes", [p.name for p in cfg.probes])
    report.problems.sort(key=lambda p: (p.file != locs.file, p.file, p.line or 0, p.field))
    return report.problems


def _profiles(cfg: DaemonConfig, report: _Report) -> dict[str, LoadedProfile | None]:
    out: dict[str, LoadedProfile | None] = {}
    for name, target in sorted(cfg.targets.items()):
        try:
            out[name] = load_profile(resolve_profile(target.profile))
        except ConfigError as exc:
            report.nested(("targets", name, "profile"), "profile", target.profile, exc)
            out[name] = None
    return out


def _suite_job(
    report: _Report,
    i: int,
    ref: str,
    scenarios: Sequence[str],
    params: Mapping[str, Any],
) -> None:
    try:
        loaded: LoadedSuite = load_suite(resolve_suite(ref))
    except ConfigError as exc:
        report.nested(("suites", i, "suite"), "suite", ref, exc)
        return
    suite = loaded.suite
    names = [s.name for s in suite.scenarios]
    for j, wanted in enumerate(scenarios):
        if wanted not in names:
            report.add(
                ("suites", i, "scenarios", j),
                f"suite {suite.name!r} has no scenario {wanted!r} (scenarios: {', '.join(names)})",
            )
    chosen = [s for s in suite.scenarios if not scenarios or s.name in scenarios]
    declared = set(suite.params).union(*(s.params for s in chosen))
    for key in params:
        if key not in declared:
            known = ", ".join(sorted(declared)) or "none"
            report.add(
                ("suites", i, "params", key),
                f"suite {suite.name!r} declares no parameter {key!r} (parameters: {known})",
            )


def _soak_operations(
    report: _Report, i: int, ops: Sequence[str], profile: LoadedProfile | None
) -> None:
    if profile is None:
        return  # the profile itself is reported
    mapped = set(profile.profile.operations)
    name = profile.profile.name
    if not mapped.intersection(SOAK_LOGIN_OPS):
        report.add(
            ("soak", i, "operations"),
            f"profile {name!r} maps neither `register` nor `login`: soak users cannot sign in",
        )
    for j, op in enumerate(ops):
        if op not in mapped and op != "login":
            report.add(
                ("soak", i, "operations", j, "op"),
                f"profile {name!r} does not map operation {op!r} "
                f"(mapped: {', '.join(sorted(mapped))})",
            )


def _probe(report: _Report, locs: Locations, i: int, kind: str, options: Mapping[str, Any]) -> None:
    path: PathKey = ("probes", i)
    if kind not in PROBE_KINDS:
        report.add((*path, "kind"), PROBE_KINDS.unknown_message(kind))
        return
    settings = PROBE_KINDS.get_entry(kind).settings
    try:
        settings.model_validate(dict(options))
    except ValidationError as exc:
        inner = Locations(
            locs.file,
            {k[len(path) :]: v for k, v in locs.lines.items() if k[: len(path)] == path},
        )
        prefix = format_path(path)
        for p in problems_from(exc, dict(options), inner, settings):
            field = f"{prefix}.{p.field}" if p.field else prefix
            message = p.message
            if message == "unknown key" or message.startswith("unknown key "):
                message = f"{message}: a {kind} probe takes {', '.join(settings.model_fields)}"
            report.problems.append(Problem(p.file, p.line or locs.line_of(path), field, message))


def _experiment(report: _Report, i: int, ref: str) -> None:
    from monitor.chaos.experiment.load import load_experiment

    try:
        load_experiment(ref)
    except ConfigError as exc:
        report.nested(("chaos", "experiments", i, "experiment"), "experiment", ref, exc)


def _steady_suites(report: _Report, cfg: DaemonConfig, i: int, job: ChaosJob) -> None:
    scheduled = [(key, name, s.target) for (key, name), s in zip(suite_keys(cfg), cfg.suites,
                                                                  strict=True)]  # fmt: skip
    for j, ref in enumerate(job.steady_state.suites):
        if not any(t == job.target and ref in (key, name) for key, name, t in scheduled):
            on = sorted(key for key, _, t in scheduled if t == job.target)
            report.add(
                ("chaos", "experiments", i, "steady_state", "suites", j),
                f"no suite {ref!r} is scheduled on target {job.target!r} "
                f"(scheduled there: {', '.join(on) or 'none'})",
            )


def _unique(report: _Report, section: str, names: Sequence[str]) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            report.add((section, i, "name"), f"name {name!r} is used twice in {section}")
        seen.add(name)
