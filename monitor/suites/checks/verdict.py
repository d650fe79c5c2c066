"""Helpers to build check results with short, human-readable evidence."""

from __future__ import annotations

from collections.abc import Iterable

from monitor.suites.results import CheckResult
from monitor.suites.results.history import Op

MAX_EVIDENCE = 20


def cap(lines: Iterable[str], limit: int = MAX_EVIDENCE) -> list[str]:
    """At most ``limit`` lines, the last one saying how many were left out."""
    out: list[str] = []
    rest = 0
    for line in lines:
        if len(out) < limit:
            out.append(line)
        else:
            rest += 1
    if rest:
        out.append(f"… and {rest} more")
    return out


def ops_evidence(ops: Iterable[Op], limit: int = MAX_EVIDENCE) -> list[str]:
    return cap((op.describe() for op in ops), limit)


def verdict(  # noqa: PLR0917 - mirrors CheckResult's fields
    name: str,
    passed: bool,
    expected: str,
    observed: str,
    message: str = "",
    evidence: Iterable[str] = (),
) -> CheckResult:
    """A ``CheckResult``; evidence is only kept for failures (and capped)."""
    return CheckResult(
        name=name,
        passed=passed,
        expected=expected,
        observed=observed,
        message=message,
        evidence=[] if passed else cap(evidence),
    )


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
