"""The one error tree of the monitor, and the exit codes of every command.

```
SoakmonError                 exit 4   something went wrong that is not the user's input
├── UsageError               exit 2   bad command line, suite, profile or daemon config
│   ├── suites.ConfigError           (file:line: field: message problems)
│   ├── suites.UnmappedOperation
│   ├── engine.EngineConfigError
│   ├── daemon.ScheduleError
│   ├── suites.results.ReportFormatError, report.ReportWriteError
│   └── registry.RegistryError       (DuplicateNameError, UnknownNameError)
├── TargetUnreachable        exit 3   the target could not be reached at all
├── suites.SuiteError                 (ExpressionError, CheckDataError, CelError, StepFailed)
├── engine.FastError                  (a transport failure of the fast path, recorded per request)
├── engine.ResponseTooLarge, engine.sync.H2Error  (a response over its limit, an HTTP/2 failure)
├── chaos.ChaosError                  (ActionError, Refused (a UsageError), TargetBusy, NoVictims)
├── openapi.ProbeSetupError           (a setup step a race probe needs was refused)
├── openapi.BudgetExhausted           (--max-requests / --duration used up; ends the probe run)
└── observe.ProbeError                (a probe read failed; the probe loop keeps going)
```

The reference target (``monitor.reference``) is a separate program with its own tree
(``ReferenceTargetError``); the monitor never imports it.

A daemon loop that raises a :class:`UsageError` is marked failed and not restarted (its
configuration cannot become valid by retrying); any other error is retried with backoff.

This module imports nothing else of the monitor, so every layer may use it.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar


class ExitCode(IntEnum):
    """Exit codes of every ``soakmon`` command (documented in the README)."""

    OK = 0
    """The command completed; for a run, every check held."""
    FAILED = 1
    """A check failed or a threshold was not met (a finding about the target)."""
    USAGE = 2
    """Bad command line, suite, profile or config: nothing ran (messages name file and line)."""
    UNREACHABLE = 3
    """The target could not be reached (refused, DNS, TLS) before any check could run."""
    ERROR = 4
    """No check failed, but something could not be evaluated or completed: a check that
    could not be evaluated (a missing value, a refused setup step), an internal or I/O error."""


class SoakmonError(Exception):
    """Root of every error the monitor raises on purpose."""

    exit_code: ClassVar[ExitCode] = ExitCode.ERROR


class UsageError(SoakmonError):
    """The user's input is invalid (a command-line value, a file, a config entry); retrying
    without changing it cannot succeed. The message names the option, file or field."""

    exit_code: ClassVar[ExitCode] = ExitCode.USAGE


class TargetUnreachable(SoakmonError):
    """The target did not answer at all (connection refused, DNS, TLS) before anything ran."""

    exit_code: ClassVar[ExitCode] = ExitCode.UNREACHABLE


def exit_code_of(exc: BaseException) -> ExitCode:
    """The exit code a command ends with when ``exc`` stops it."""
    if isinstance(exc, SoakmonError):
        return exc.exit_code
    return ExitCode.ERROR


def is_permanent(exc: BaseException) -> bool:
    """True for errors that retrying cannot fix (configuration errors)."""
    return isinstance(exc, UsageError)


__all__ = [
    "ExitCode",
    "SoakmonError",
    "TargetUnreachable",
    "UsageError",
    "exit_code_of",
    "is_permanent",
]
