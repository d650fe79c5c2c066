"""Errors of the suite layer, drawn at the top (httpx ``_exceptions.py`` style).

```
SuiteError               (a monitor.errors.SoakmonError)
├── ConfigError          a suite or profile is invalid: file, line, field (a UsageError)
├── ExpressionError      a template or CEL expression cannot be compiled or evaluated
├── UnmappedOperation    a profile does not map an operation a scenario needs (a UsageError)
└── StepFailed           a setup or read-back step did not return the expected outcome
```
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.errors import SoakmonError, UsageError

MAX_MESSAGE = 200
"""A problem's message (with the value it quotes) is cut to this many characters."""
MAX_FIELD = 120
TOP_LEVEL = "(top level)"
"""The field a problem on a line names when it sits outside every key: a document that is not
a mapping, a YAML error between the top-level keys."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def one_line(text: str, limit: int) -> str:
    """``text`` on one line (line breaks and control characters escaped), cut to ``limit``."""
    flat = _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class SuiteError(SoakmonError):
    """Base class of every error raised by ``monitor.suites``."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in a file: where it is and what is wrong."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        """One line, whatever the file holds: a key with a line break is escaped, a long field
        path or a message quoting a long value is cut."""
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        first = self.message.strip().split("\n", 1)[0]  # a CEL caret drawing stays out
        message = one_line(first, MAX_MESSAGE)
        if not self.field and self.line is None:  # the whole file: empty, unreadable, …
            return f"{where}: {message}"
        return f"{where}: {one_line(self.field or TOP_LEVEL, MAX_FIELD)}: {message}"


class ConfigError(SuiteError, UsageError):
    """A suite or profile file is invalid; ``problems`` lists every finding."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ExpressionError(SuiteError):
    """A ``${...}`` template or CEL expression failed to compile or evaluate."""


class UnmappedOperation(SuiteError, UsageError):
    """The profile does not define an operation that a scenario uses."""

    def __init__(self, operations: Sequence[str], profile: str) -> None:
        self.operations = sorted(set(operations))
        self.profile = profile
        names = ", ".join(self.operations)
        super().__init__(f"profile {profile!r} does not map operation(s): {names}")


class PhaseWorkerDied(SuiteError):
    """A worker process of a sustained load ended without sending its calls back."""


class StepFailed(SuiteError):
    """A setup or read-back step got an outcome other than the one it expects."""


class RouteUnknown(StepFailed):
    """The target answers an operation only with 404/405 that no outcome rule names: it does
    not know the route the profile maps it to. A profile problem (method or path), never a
    finding about the service."""
