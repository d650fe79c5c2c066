"""The one place where the suite layer compiles CEL for templates (``${expr}`` values).

A thin adapter over the checks' CEL module (``monitor.suites.cel``), which owns the CEL
environment and the JSON <-> CEL conversions; check expressions go through the checks registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from monitor.suites import cel


def compile_cel(
    expr: str, variables: tuple[str, ...] | None = None
) -> Callable[[Mapping[str, Any]], Any]:
    """Compile ``expr`` (``ExpressionError`` when it cannot be); the returned function evaluates
    it against a JSON-like context and returns plain Python values."""
    program = cel.compile_cel(expr, variables=variables)
    return program.evaluate
