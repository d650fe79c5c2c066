"""CEL for checks: compile once with clear errors, evaluate over JSON-like data, explain failures.

Thin wrapper over ``celpy``. ``compile_cel`` parses an expression once (a syntax error names the
expression, line and column; with ``variables`` given, an unknown top-level name is an error too),
``CelProgram.evaluate`` converts the activation to CEL types (JSON values; RFC 3339 strings become
timestamps) and returns plain Python. ``CelProgram.explain`` says why a boolean expression was
false (the failed conjunct, both sides of a failed comparison) for human-readable check results.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import celpy
from celpy import celtypes
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError
from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedToken

from monitor.suites.errors import ExpressionError

_ENV = celpy.Environment()
_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_RELATIONS = {
    "relation_eq": "==",
    "relation_ne": "!=",
    "relation_lt": "<",
    "relation_le": "<=",
    "relation_gt": ">",
    "relation_ge": ">=",
}

_CEL_TYPES = (
    celtypes.BoolType,
    celtypes.IntType,
    celtypes.UintType,
    celtypes.DoubleType,
    celtypes.StringType,
    celtypes.BytesType,
    celtypes.ListType,
    celtypes.MapType,
    celtypes.TimestampType,
    dt.timedelta,
)
_TOKENS = {"RPAR": "')'", "RSQB": "']'", "RBRACE": "'}'", "COLON": "':'", "COMMA": "','"}

#: Variables of a ``cel`` check (see ``monitor.suites.checks.cel_check``).
CHECK_VARIABLES = ("params", "state", "ops", "requests", "duration_s", "history")


class CelError(ExpressionError):
    """A CEL expression cannot be compiled, or failed while evaluating."""


def to_cel(value: Any) -> Any:
    """Convert a JSON-like Python value to CEL types (RFC 3339 strings → timestamps)."""
    if value is None or isinstance(value, _CEL_TYPES):
        return _already_cel(value)
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        return celtypes.IntType(value)
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    if isinstance(value, str):
        if _RFC3339.match(value):
            return celtypes.TimestampType(value.replace(" ", "T"))
        return celtypes.StringType(value)
    if isinstance(value, dt.datetime):
        return celtypes.TimestampType(value)
    if isinstance(value, Mapping):
        return celtypes.MapType({celtypes.StringType(str(k)): to_cel(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return celtypes.ListType([to_cel(v) for v in value])
    raise CelError(f"cannot convert {type(value).__name__} to a CEL value")


def _already_cel(value: Any) -> Any:
    if isinstance(value, dt.timedelta) and not isinstance(value, celtypes.DurationType):
        return celtypes.DurationType(seconds=value.total_seconds())
    return value


def to_python(value: Any) -> Any:
    """Convert a CEL value to plain Python (timestamps → aware datetime, durations → seconds)."""
    if value is None:
        return None
    if isinstance(value, celtypes.BoolType):
        return bool(value)
    if isinstance(value, celtypes.IntType | celtypes.UintType):
        return int(value)
    if isinstance(value, celtypes.DoubleType):
        return float(value)
    if isinstance(value, celtypes.StringType):
        return str(value)
    if isinstance(value, celtypes.TimestampType):
        return dt.datetime.fromtimestamp(value.timestamp(), tz=dt.UTC)
    if isinstance(value, celtypes.DurationType):
        return value.total_seconds()
    if isinstance(value, celtypes.MapType):
        return {to_python(k): to_python(v) for k, v in value.items()}
    if isinstance(value, celtypes.ListType):
        return [to_python(v) for v in value]
    return value


def show(value: Any) -> str:
    """A short human-readable rendering of a (Python or CEL) value."""
    value = to_python(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, float):
        return f"{value:.6g}"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 120 else text[:119] + "…"


def _clean(message: str) -> str:
    """Drop celpy's dump of the whole activation from an evaluation error."""
    return message.split(" (in activation", 1)[0].strip()


@dataclass(frozen=True, slots=True, eq=False)
class CelProgram:
    """A compiled expression; evaluate it against a mapping of variables."""

    source: str
    tree: Tree[Token]
    _program: Any = field(repr=False)

    def evaluate(self, activation: Mapping[str, Any]) -> Any:
        """Evaluate to plain Python; raise ``CelError`` naming the expression on failure."""
        return to_python(self._run(self._program, activation, self.source))

    def _run(self, program: Any, activation: Mapping[str, Any], text: str) -> Any:
        converted = {k: to_cel(v) for k, v in activation.items()}
        try:
            result = program.evaluate(converted)
        except CelError:
            raise
        except Exception as exc:
            raise CelError(f"CEL expression {self.source!r}: {_describe(exc, text)}") from None
        if isinstance(result, CELEvalError):
            raise CelError(f"CEL expression {self.source!r}: {_describe(result, text)}")
        return result

    def explain(self, activation: Mapping[str, Any]) -> str:
        """Why the expression is not true: the failing part and the values it compared."""
        converted = {k: to_cel(v) for k, v in activation.items()}
        return _explain(self, self.tree, converted) or f"{self.source} is false"


def _describe(exc: BaseException, text: str) -> str:
    detail = _clean(str(exc.args[0]) if exc.args else str(exc))
    if text != "" and detail.startswith("no such key"):
        key = exc.args[2][0] if len(exc.args) > 2 and exc.args[2] else "?"
        return f"no such key {show(key)} (in {text})"
    return detail


def _span(src: str, tree: Tree[Token]) -> str:
    meta = tree.meta
    if meta.empty:
        return src
    return src[meta.start_pos : meta.end_pos].strip()


def _sub(src: str, tree: Tree[Token]) -> tuple[str, Any]:
    return _span(src, tree), _ENV.program(tree)


def _explain(prog: CelProgram, tree: Tree[Token], act: Mapping[str, Any]) -> str | None:
    """Descend single-child chains and failed conjuncts down to a comparison; show both sides."""
    node = tree
    while True:
        kids = [c for c in node.children if isinstance(c, Tree)]
        if node.data == "conditionaland" and len(kids) == 2:
            for part in kids:
                text, program = _sub(prog.source, part)
                try:
                    value = program.evaluate(dict(act))
                except Exception:
                    return f"{text}: evaluation failed"
                if value is not True and not isinstance(value, celtypes.BoolType | bool):
                    return f"{text} = {show(value)}"
                if not value:
                    return _explain(prog, part, act) or f"{text} is false"
            return None
        if node.data in _RELATIONS and len(node.children) == 2:
            return None  # handled by the parent "relation" node
        if node.data == "relation" and len(kids) == 2 and kids[0].data in _RELATIONS:
            left = next(c for c in kids[0].children if isinstance(c, Tree))
            op = _RELATIONS[str(kids[0].data)]
            sides = []
            for part in (left, kids[1]):
                text, program = _sub(prog.source, part)
                try:
                    sides.append(f"{text} = {show(program.evaluate(dict(act)))}")
                except Exception:
                    sides.append(f"{text} = <error>")
            return f"{sides[0]}; {sides[1]} (expected {op})"
        if len(kids) != 1 or len(node.children) != 1:
            return None
        node = kids[0]


def _free_names(tree: Tree[Token], bound: frozenset[str] = frozenset()) -> set[str]:
    """Top-level identifiers an expression refers to (macro variables are bound, not free)."""
    if tree.data == "ident":
        name = str(tree.children[0])
        return set() if name in bound else {name}
    if tree.data == "member_dot_arg" and len(tree.children) == 3:
        target, method, args = tree.children
        names = _free_names(target, bound) if isinstance(target, Tree) else set()
        if str(method) in _MACROS and isinstance(args, Tree) and args.children:
            var = _bare_ident(args.children[0])
            if var is not None:
                inner = bound | {var}
                for arg in args.children[1:]:
                    if isinstance(arg, Tree):
                        names |= _free_names(arg, inner)
                return names
        return names | (_free_names(args, bound) if isinstance(args, Tree) else set())
    found: set[str] = set()
    for child in tree.children:
        if isinstance(child, Tree):
            found |= _free_names(child, bound)
    return found


def _bare_ident(node: Any) -> str | None:
    while isinstance(node, Tree):
        if node.data == "ident":
            return str(node.children[0])
        kids = node.children
        if len(kids) != 1:
            return None
        node = kids[0]
    return None


def compile_cel(expr: str, *, variables: Collection[str] | None = None) -> CelProgram:
    """Compile ``expr`` once. Raise ``CelError`` naming the expression and the position."""
    if not isinstance(expr, str) or not expr.strip():
        raise CelError("CEL expression is empty")
    try:
        tree = _ENV.compile(expr)
    except CELParseError as exc:
        raise CelError(_syntax_message(expr, exc)) from None
    if variables is not None:
        unknown = sorted(_free_names(tree) - set(variables))
        if unknown:
            names = ", ".join(sorted(variables))
            raise CelError(
                f"CEL expression {expr!r}: unknown name {', '.join(map(repr, unknown))} "
                f"(available: {names})"
            )
    return CelProgram(expr, tree, _ENV.program(tree))


def _syntax_message(expr: str, exc: CELParseError) -> str:
    line, column = exc.line, exc.column
    lines = expr.splitlines() or [""]
    cause = exc.__context__
    at_end = isinstance(cause, UnexpectedToken) and not str(cause.token)
    if line is None or column is None or at_end:
        line, column = len(lines), len(lines[-1]) + 1
    what = _what(cause)
    text = expr.splitlines()[line - 1] if expr.splitlines() else expr
    caret = " " * (column - 1) + "^"
    return (
        f"CEL expression {expr!r} is invalid at line {line}, column {column}: {what}\n"
        f"    {text}\n    {caret}"
    )


def _what(cause: BaseException | None) -> str:
    token = getattr(cause, "token", None)
    if isinstance(cause, UnexpectedToken) and token is not None:
        wanted = sorted(_TOKENS[t] for t in cause.expected if t in _TOKENS)
        hint = f" (expected {' or '.join(wanted)})" if wanted else ""
        if not str(token):
            return f"unexpected end of expression{hint}"
        return f"unexpected {str(token)!r}{hint}"
    if isinstance(cause, UnexpectedCharacters):
        return f"unexpected character {cause.char!r}"
    return "syntax error"


def is_plain_path(expr: str) -> bool:
    """``state.final.balance``: a dotted path that needs no CEL evaluation."""
    return bool(_PATH.match(expr.strip()))
