"""Arguments a scenario passes that a profile's request never uses.

A profile that forgets an argument (say `include_deleted` of `tasks.list`) still sends a valid
request, so the scenario runs — and may fail, or pass, for the wrong reason. ``ignored_arguments``
finds such gaps before anything runs, so ``soakmon run`` can warn about them;
``unused_arguments`` finds, per mapped catalogue operation, the arguments it receives that the
mapping never uses, so ``soakmon validate`` can warn about them at the operation's line.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from monitor.suites.expressions.templates import names_used
from monitor.suites.profile.models import HttpOperation, Profile, SequenceOperation
from monitor.suites.profile.operations import OPERATIONS
from monitor.suites.suite.models import Scenario, Suite


@dataclass(frozen=True, slots=True)
class IgnoredArgument:
    """``profile`` maps ``operation`` but never uses ``argument``, which ``scenario`` passes."""

    suite: str
    scenario: str
    operation: str
    argument: str

    def __str__(self) -> str:
        return (
            f"{self.suite}/{self.scenario}: the profile's {self.operation} ignores argument "
            f"{self.argument!r}"
        )


def used_arguments(profile: Profile, kind: str, _seen: frozenset[str] = frozenset()) -> set[str]:
    """Arguments of ``kind`` that the profile's templates refer to (through sequences too)."""
    op = profile.operations.get(kind)
    if isinstance(op, HttpOperation):
        return names_used([op.path, op.query, op.body, op.headers], "args")
    if isinstance(op, SequenceOperation) and kind not in _seen:
        used = names_used([step.args for step in op.steps], "args")
        used |= names_used(op.result, "args")
        return used
    return set()


def _uses(scenario: Scenario) -> Iterator[tuple[str, set[str]]]:
    for step in (*scenario.setup, *scenario.readback):
        yield step.op, set(step.args)
    for phase in scenario.phases:
        for op in phase.ops:
            yield op.op, set(op.args)
        for reader in phase.readers:
            yield reader.op, set(reader.args)


def ignored_arguments(profile: Profile, suites: list[Suite]) -> list[IgnoredArgument]:
    """Every (scenario, operation, argument) the profile maps but drops on the floor."""
    found: list[IgnoredArgument] = []
    for suite in suites:
        for scenario in suite.scenarios:
            seen: set[tuple[str, str]] = set()
            for kind, args in _uses(scenario):
                if kind not in profile.operations:
                    continue  # unmapped: the scenario is skipped with its reason
                for arg in sorted(args - used_arguments(profile, kind)):
                    if (kind, arg) not in seen:
                        seen.add((kind, arg))
                        found.append(IgnoredArgument(suite.name, scenario.name, kind, arg))
    return found


@dataclass(frozen=True, slots=True)
class UnusedArgument:
    """A catalogue ``operation`` receives ``argument``; the profile's mapping never uses it."""

    operation: str
    argument: str
    passed_by: tuple[str, ...]  # suite/scenario of the given suites that pass it

    def message(self) -> str:
        shown = ", ".join(self.passed_by[:3])
        if len(self.passed_by) > 3:
            shown += f" and {len(self.passed_by) - 3} more"
        consequence = (
            f"; {shown} pass(es) it, so their checks may fail or pass for the wrong reason"
            if self.passed_by
            else " (no built-in scenario passes it)"
        )
        return f"receives argument {self.argument!r} but the mapping never uses it{consequence}"


def unused_arguments(profile: Profile, suites: Sequence[Suite] = ()) -> list[UnusedArgument]:
    """Arguments each mapped catalogue operation receives that the mapping never uses, with the
    scenarios of ``suites`` that pass them."""
    passers: dict[tuple[str, str], list[str]] = {}
    for suite in suites:
        for scenario in suite.scenarios:
            for kind, args in _uses(scenario):
                for arg in args:
                    users = passers.setdefault((kind, arg), [])
                    if f"{suite.name}/{scenario.name}" not in users:
                        users.append(f"{suite.name}/{scenario.name}")
    found: list[UnusedArgument] = []
    for name in profile.operations:
        if name not in OPERATIONS:
            continue  # an operation of your own receives whatever its scenarios pass
        used = used_arguments(profile, name)
        for arg in OPERATIONS[name].args:
            if arg not in used:
                found.append(UnusedArgument(name, arg, tuple(passers.get((name, arg), ()))))
    return found
