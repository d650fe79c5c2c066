"""Invariant checkers over operation histories, thresholds, and CEL checks.

``CHECKERS`` holds every built-in (one module each in ``builtin/``); ``run_check`` runs one.
"""

from __future__ import annotations

from monitor.suites.checks.context import OVERALL, CheckContext, RequestStats, stats_by_kind
from monitor.suites.checks.exprs import CheckDataError, Expr
from monitor.suites.checks.registry import (
    CHECKERS,
    CheckArgs,
    Checker,
    checker,
    get_checker,
    load_builtins,
    run_check,
)

load_builtins()

__all__ = [
    "CHECKERS",
    "OVERALL",
    "CheckArgs",
    "CheckContext",
    "CheckDataError",
    "Checker",
    "Expr",
    "RequestStats",
    "checker",
    "get_checker",
    "run_check",
    "stats_by_kind",
]
