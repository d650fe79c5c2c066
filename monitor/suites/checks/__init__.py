"""The checkers: invariants over operation histories, thresholds, and CEL checks.

``CHECKERS`` holds every built-in (one module each in ``builtin/``); ``run_check`` runs one.

- ``registry``       ``@checker("name", args=Model)``: the registry, ``get_checker``, ``run_check``
- ``context``        ``CheckContext``: what a checker sees (history, state, params, request stats)
- ``verdict``        helpers that build a ``CheckResult`` with short evidence
- ``subsets``        which UNKNOWN ops could have taken effect (subset-sum)
- ``builtin/``       one module per checker family; adding a checker is adding a file there
- ``suite_entries``  a suite's ``checks:`` entries: load-time validation, the JSON Schema of
                     checker arguments, and evaluating them after a phase

May import: ``profile`` (the operation catalogue), ``suite`` (``CheckSpec``), ``expressions``,
``results``, ``errors`` and ``monitor.registry``. Not ``loading`` or ``run``.
"""

from __future__ import annotations

from monitor.suites.checks.context import OVERALL, CheckContext, RequestStats, stats_by_kind
from monitor.suites.checks.registry import (
    CHECKERS,
    CheckArgs,
    Checker,
    checker,
    get_checker,
    load_builtins,
    run_check,
)
from monitor.suites.expressions.check_args import CheckDataError, Expr

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
