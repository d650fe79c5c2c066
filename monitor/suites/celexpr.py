"""The one place where the suite layer compiles CEL (templates and expression values).

Thin adapter over ``celpy``: compile once, evaluate against a JSON-like context, return plain
Python values. Check expressions go through the checks registry (``monitor.suites.cel``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.evaluation import CELEvalError

from monitor.suites.errors import ExpressionError

_ENV = celpy.Environment()


def to_python(value: Any) -> Any:
    """Convert a CEL result to plain Python (bool/int/float/str/list/dict/None)."""
    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, celtypes.IntType | celtypes.UintType):
        return int(value)
    if isinstance(value, celtypes.DoubleType):
        return float(value)
    if isinstance(value, celtypes.StringType):
        return str(value)
    if isinstance(value, celtypes.MapType):
        return {str(to_python(k)): to_python(v) for k, v in value.items()}
    if isinstance(value, celtypes.ListType):
        return [to_python(v) for v in value]
    if value is None or isinstance(value, celtypes.NullType):
        return None
    return value


def compile_cel(expr: str) -> Callable[[Mapping[str, Any]], Any]:
    """Compile ``expr``; the returned function evaluates it against a JSON-like context."""
    try:
        ast = _ENV.compile(expr)
        program = _ENV.program(ast)
    except Exception as exc:
        detail = str(exc).strip().replace("\n", " ")
        raise ExpressionError(f"invalid expression {expr!r}: {detail}") from None

    def evaluate(ctx: Mapping[str, Any]) -> Any:
        activation = {k: json_to_cel(v) for k, v in ctx.items()}
        try:
            result = program.evaluate(activation)
        except Exception as exc:
            raise ExpressionError(f"{expr!r}: {exc}") from None
        if isinstance(result, CELEvalError):
            raise ExpressionError(f"{expr!r}: {result.args[0] if result.args else result}")
        return to_python(result)

    return evaluate
