"""The verdict of one check: ``CheckResult`` and the check statuses.

Produced by the checkers (``monitor.suites.checks``) and by the scenario runner for a setup or
read-back that could not complete; read by the reports, the daemon and the alerts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

CheckStatus = Literal["passed", "failed", "error", "not_applicable"]
CHECK_STATUSES: tuple[CheckStatus, ...] = ("passed", "failed", "error", "not_applicable")


@dataclass(slots=True)
class CheckResult:
    """The verdict of one check (invariant, threshold or CEL expression).

    ``status`` defaults from ``passed``; give ``status="error"`` (could not be evaluated) or
    ``"not_applicable"`` explicitly — ``passed`` then follows it (False)."""

    name: str
    passed: bool
    expected: str
    observed: str
    message: str = ""
    evidence: list[str] = field(default_factory=list)  # minimal contradicting ops/reads
    status: CheckStatus | None = None

    def __post_init__(self) -> None:
        if self.status is None:
            self.status = "passed" if self.passed else "failed"
        else:
            self.passed = self.status == "passed"

    @property
    def violated(self) -> bool:
        """A real violation (``failed``), as opposed to an error or not applicable."""
        return self.status == "failed"

    @classmethod
    def error(cls, name: str, expected: str, message: str, observed: str = "") -> CheckResult:
        """A check that could not be evaluated; ``message`` names the missing value."""
        first = message.splitlines()[0] if message else "could not be evaluated"
        return cls(name, False, expected, observed or f"error: {first}", message, status="error")

    @classmethod
    def not_applicable(cls, name: str, reason: str, expected: str = "") -> CheckResult:
        """A check whose needs the target does not meet; ``reason`` says which."""
        return cls(
            name, False, expected, f"not applicable: {reason}", reason, status="not_applicable"
        )
