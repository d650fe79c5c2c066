"""What ``soakmon validate`` says beyond problems: a profile's notes, and which scenarios of a
suite a profile makes applicable or not (with the reason), checks included."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from monitor.suites.checks.suite_entries import check_name
from monitor.suites.loading.loader import LoadedProfile, LoadedSuite
from monitor.suites.loading.yamlsource import format_path
from monitor.suites.profile.capabilities import Capabilities, scenario_unmet
from monitor.suites.profile.coverage import unused_arguments
from monitor.suites.profile.operations import OUTCOMES
from monitor.suites.profile.vocabulary import (
    declared_needs,
    hidden_server_errors,
    own_outcomes,
    relabelled_server_errors,
    undefined_operations,
    unknown_server_error_rules,
)
from monitor.suites.suite.models import Suite
from monitor.suites.suite.params import scenario_params

Echo = Callable[[str], None]


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
        params = scenario_params(suite, scenario, loaded.profile.params)
        checks = tuple(
            (check_name(check, params), caps.reason(caps.unmet(check.needs)))
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
    """Every note on a profile: arguments its mappings never use that a scenario of ``suites``
    it lets run passes (an argument nothing passes, or only scenarios it cannot run, loses
    nothing: no warning), its outcome names, how its rules treat server errors."""
    applicable = [applicable_only(suite, loaded) for suite in suites]
    for gap in unused_arguments(loaded.profile, applicable):
        if not gap.passed_by:
            continue  # no scenario this profile runs passes it: nothing is lost
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
