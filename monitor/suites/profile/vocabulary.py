"""The names a suite may speak: operations and outcomes, built-in or of your own domain.

Operations: the built-in catalogue (``monitor.suites.profile.operations``), those a suite
declares under ``operations:``, and — when a profile is known (``soakmon run``, ``soakmon
validate SUITE --profile P``) — every operation the profile defines. Outcomes: the canonical
codes, the names a profile declares under ``outcome_names`` and those its rules give literally.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from monitor.suites.profile.capabilities import scenario_operations
from monitor.suites.profile.models import HttpOperation, OutcomeRule, Profile
from monitor.suites.profile.operations import OPERATIONS, OUTCOMES
from monitor.suites.suite.models import CheckSpec, Needs, Scenario, Suite


def suggest(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or nothing."""
    close = difflib.get_close_matches(name, sorted(set(choices)), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def known_operations(suite: Suite, profile: Profile | None = None) -> set[str]:
    """Operation names the suite may use."""
    names = set(OPERATIONS) | set(suite.operations)
    if profile is not None:
        names |= set(profile.operations)
    return names


def _rules(profile: Profile) -> Iterator[OutcomeRule]:
    yield from profile.outcomes
    for op in profile.operations.values():
        if isinstance(op, HttpOperation):
            yield from op.outcomes


def profile_outcomes(profile: Profile) -> dict[str, str]:
    """Every outcome name the profile can be relied on to produce, with its meaning."""
    out = dict(OUTCOMES)
    for rule in _rules(profile):
        for name in (rule.outcome, *rule.map.values()):
            if name is not None:
                out.setdefault(name, "named by an outcome rule")
    out.update(profile.outcome_names)
    return out


def own_outcomes(profile: Profile) -> list[str]:
    """The outcome names of the profile's own domain: declared, or named by its rules."""
    names = dict.fromkeys(profile.outcome_names)
    for rule in _rules(profile):
        for name in (rule.outcome, *rule.map.values()):
            if name is not None and name not in OUTCOMES:
                names[name] = None
    return list(names)


def undefined_operations(suite: Suite, profile: Profile) -> list[tuple[tuple[str | int, ...], str]]:
    """(suite field path, message) for operations the suite declares or uses that the profile
    does not define: their scenarios will be not applicable."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    for name in suite.operations:
        if name not in profile.operations:
            hint = suggest(name, profile.operations)
            out.append(
                (
                    ("operations", name),
                    f"profile {profile.name!r} does not define {name!r}{hint}: the scenarios "
                    "using it will be not applicable",
                )
            )
    return out


def check_outcome_names(check: CheckSpec) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(field path, outcome name) of every outcome a built-in check's args mention."""
    args: Mapping[str, Any] = check.args
    counts = args.get("counts")
    if check.check == "expected_outcomes" and isinstance(counts, Mapping):
        for name in counts:
            yield ("args", "counts", str(name)), str(name)
    code = args.get("conflict_code")
    if check.check == "conflict_detected" and isinstance(code, str):
        yield ("args", "conflict_code"), code
    allow = args.get("allow")
    if check.check == "no_server_errors" and isinstance(allow, list):
        for i, name in enumerate(allow):
            yield ("args", "allow", i), str(name)


def check_kinds(check: CheckSpec) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(field path, operation) of the ``kind`` argument of a built-in check."""
    kind = check.args.get("kind")
    if isinstance(kind, str) and not kind.startswith("${"):
        yield ("args", "kind"), kind
    elif isinstance(kind, list):
        for i, name in enumerate(kind):
            if isinstance(name, str):
                yield ("args", "kind", i), name


def declared_needs(suite: Suite, scenario: Scenario) -> Needs:
    """The result fields the suite declares for the operations a scenario runs, as needs named
    ``<operation>.<field>`` (``favorites.remove.favoritesCount``): a profile that says it does
    not provide one (``provides: {fields: {…: false}}``) makes the scenario not applicable."""
    used = set(scenario_operations(scenario))
    fields = [
        f"{op}.{field}"
        for op, decl in suite.operations.items()
        if op in used
        for field in decl.result
    ]
    return Needs(fields=fields)


def _matches_5xx(rule: OutcomeRule) -> bool:
    status = rule.status
    if status is None:
        return True
    if isinstance(status, str):
        return status.startswith("5")
    if isinstance(status, int):
        return status >= 500
    return any(s >= 500 for s in status)


def unknown_server_error_rules(profile: Profile) -> list[tuple[str | int, ...]]:
    """Paths of the rules that mark (some) 5xx answers ``unknown: true``."""
    found: list[tuple[str | int, ...]] = [
        ("outcomes", i) for i, r in enumerate(profile.outcomes) if r.unknown and _matches_5xx(r)
    ]
    for name, op in profile.operations.items():
        if isinstance(op, HttpOperation):
            found += [
                ("operations", name, "outcomes", i)
                for i, r in enumerate(op.outcomes)
                if r.unknown and _matches_5xx(r)
            ]
    return found


def hidden_server_errors(suite: Suite, profile: Profile) -> list[tuple[tuple[str | int, ...], str]]:
    """(suite field path, message) where the profile's ``unknown: true`` 5xx rule would let
    server errors go unseen: a scenario with ``server_errors: report`` and no
    ``no_server_errors`` check, or an ``expected_outcomes`` / ``conflict_detected`` check with
    ``server_errors: fit``."""
    rules = unknown_server_error_rules(profile)
    if not rules:
        return []
    where = ", ".join(".".join(str(p) for p in r) for r in rules)
    lead = f"profile {profile.name!r} marks 5xx answers unknown ({where})"
    out: list[tuple[tuple[str | int, ...], str]] = []
    for s, scenario in enumerate(suite.scenarios):
        base: tuple[str | int, ...] = ("scenarios", s)
        explicit = any(c.check == "no_server_errors" for c in scenario.checks)
        if scenario.server_errors == "report" and not explicit:
            out.append(
                (
                    (*base, "server_errors"),
                    f"{lead}; with `server_errors: report` and no no_server_errors check, "
                    "this scenario can pass while the target answers 500",
                )
            )
        for c, check in enumerate(scenario.checks):
            counting = check.check in {"expected_outcomes", "conflict_detected"}
            if counting and check.args.get("server_errors") == "fit":
                out.append(
                    (
                        (*base, "checks", c, "args", "server_errors"),
                        f"{lead}; `server_errors: fit` lets those 500s stand in for the "
                        "expected outcomes",
                    )
                )
    return out


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
    """(rule path, outcome name, statuses) of the rules that give HTTP 5xx answers a refusal's
    name (``status: [409, 500], outcome: username_taken``): they still count as server errors,
    but a check counting that refusal would count them too."""
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
        found += [
            (path, name, statuses)
            for name in names
            if statuses and name and name not in SERVER_ERROR_NAMES
        ]
    return found
