"""What ``soakmon validate`` says beyond problems: a profile's notes, and which scenarios of a
suite a profile makes applicable or not (with the reason), checks included."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from monitor.suites.loading.loader import LoadedProfile, LoadedSuite
from monitor.suites.loading.yamlsource import format_path
from monitor.suites.profile.capabilities import Capabilities, scenario_unmet
from monitor.suites.profile.coverage import unused_arguments
from monitor.suites.profile.models import HttpOperation, OutcomeRule, Profile
from monitor.suites.profile.operations import OUTCOMES
from monitor.suites.profile.vocabulary import (
    declared_needs,
    hidden_server_errors,
    own_outcomes,
    undefined_operations,
    unknown_server_error_rules,
)
from monitor.suites.suite.models import Suite

Echo = Callable[[str], None]
#: Outcome names a 5xx may carry without being mistaken for a refusal.
SERVER_ERROR_NAMES = frozenset({"server_error", "retry_later", "error", "transport"})


def _fivexx(rule: OutcomeRule) -> str | None:
    """The 5xx statuses a rule's ``status`` matches, in words; None when it names none."""
    status = rule.status
    if isinstance(status, str):
        return status if status.startswith("5") else None
    if isinstance(status, int):
        return str(status) if status >= 500 else None
    if isinstance(status, list):
        hits = [str(s) for s in status if s >= 500]
        return "/".join(hits) if hits else None
    return None


def relabelled_server_errors(profile: Profile) -> list[tuple[tuple[str | int, ...], str, str]]:
    """(rule path, outcome name, statuses) of the rules that give 5xx answers a refusal name."""
    rules: list[tuple[tuple[str | int, ...], OutcomeRule]] = [
        (("outcomes", i), r) for i, r in enumerate(profile.outcomes)
    ]
    for name, op in profile.operations.items():
        if isinstance(op, HttpOperation):
            rules += [(("operations", name, "outcomes", i), r) for i, r in enumerate(op.outcomes)]
    found = []
    for path, rule in rules:
        statuses = _fivexx(rule)
        names = [rule.outcome] if rule.outcome else sorted(set(rule.map.values()))
        for name in names:
            if statuses and name and name not in SERVER_ERROR_NAMES:
                found.append((path, name, statuses))
    return found


@dataclass(frozen=True, slots=True)
class Applicability:
    """One scenario against one profile: ``reason`` is None when it runs; ``checks`` lists the
    checks of a running scenario that will not apply (name, reason)."""

    scenario: str
    reason: str | None
    checks: tuple[tuple[str, str], ...] = ()


def applicability(suite: Suite, loaded: LoadedProfile) -> list[Applicability]:
    """Per scenario of ``suite``: whether ``loaded``'s profile lets it run, and why not."""
    caps = Capabilities.of(loaded.profile)
    out: list[Applicability] = []
    for scenario in suite.scenarios:
        unmet = scenario_unmet(caps, scenario) + caps.unmet(declared_needs(suite, scenario))
        if unmet:
            out.append(Applicability(scenario.name, caps.reason(unmet)))
            continue
        checks = tuple(
            (check.display_name, caps.reason(caps.unmet(check.needs)))
            for check in scenario.checks
            if caps.unmet(check.needs)
        )
        out.append(Applicability(scenario.name, None, checks))
    return out


def applicable_only(suite: Suite, loaded: LoadedProfile) -> Suite:
    """``suite`` with only the scenarios ``loaded``'s profile lets run."""
    runs = {a.scenario for a in applicability(suite, loaded) if a.reason is None}
    kept = [s for s in suite.scenarios if s.name in runs]
    return suite.model_copy(update={"scenarios": kept})


def print_applicability(suite: Suite, loaded: LoadedProfile, echo: Echo) -> None:
    """``against profile 'p': N of M scenarios applicable`` then one line per scenario."""
    found = applicability(suite, loaded)
    runs = [a for a in found if a.reason is None]
    echo(
        f"  against profile {loaded.profile.name!r}: {len(runs)} of {len(found)} scenarios "
        "applicable"
    )
    for item in found:
        if item.reason is None:
            echo(f"    applicable: {item.scenario}")
            for check, why in item.checks:
                echo(f"      check not applicable: {check}: {why}")
        else:
            echo(f"    not applicable: {item.scenario}: {item.reason}")


def print_suite_warnings(loaded: LoadedSuite, against: LoadedProfile, echo: Echo) -> None:
    """Operations the profile does not define, and server errors its rules would hide."""
    found = [
        *undefined_operations(loaded.suite, against.profile),
        *hidden_server_errors(loaded.suite, against.profile),
    ]
    for path, message in found:
        line = loaded.locations.line_of(path)
        where = f"{loaded.file}:{line}" if line else loaded.file
        echo(f"warning: {where}: {format_path(path)}: {message}")


def print_profile_notes(loaded: LoadedProfile, suites: Sequence[Suite], echo: Echo) -> None:
    """Every note on a profile: arguments its mappings never use (for the scenarios of
    ``suites`` that it lets run), its outcome names, how its rules treat server errors."""
    applicable = [applicable_only(suite, loaded) for suite in suites]
    running = {(g.operation, g.argument): g for g in unused_arguments(loaded.profile, applicable)}
    for every in unused_arguments(loaded.profile, suites):
        gap = running[every.operation, every.argument]
        if every.passed_by and not gap.passed_by:
            continue  # only scenarios this profile does not run pass it: nothing is lost
        path: tuple[str | int, ...] = ("operations", gap.operation)
        line = loaded.locations.line_of(path)
        where = f"{loaded.file}:{line}" if line else loaded.file
        echo(f"warning: {where}: {format_path(path)}: {gap.message()}")
    own = ", ".join(own_outcomes(loaded.profile)) or "none"
    echo(f"  outcomes of its own: {own}")
    echo(f"  canonical outcomes: {', '.join(OUTCOMES)}")
    for path, name, statuses in relabelled_server_errors(loaded.profile):
        line = loaded.locations.line_of(path)
        echo(
            f"warning: {loaded.file}:{line}: {format_path(path)}: HTTP {statuses} answers are "
            f"named {name}, an expected refusal: they still count as server errors (the "
            f"scenario's automatic no-server-errors verdict fails on them, expected_outcomes "
            f"refuses them), but a cel check counting codes.{name} sees them as refusals; give "
            "5xx its own rule (outcome: server_error) unless the service really refuses that way"
        )
    for path in unknown_server_error_rules(loaded.profile):
        line = loaded.locations.line_of(path)
        echo(
            f"note: {loaded.file}:{line}: {format_path(path)}: server errors are unknown "
            "(may or may not have taken effect); they still count as server errors: "
            "scenarios fail on them unless `server_errors: report`, expected_outcomes "
            "refuses them unless `server_errors: fit`"
        )
