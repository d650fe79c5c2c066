"""CEL for checks: compile once with clear errors, evaluate over JSON-like data, explain failures.

Thin wrapper over ``celpy``. ``compile_cel`` parses an expression once (a syntax error names the
expression, line and column; with ``variables`` given, an unknown top-level name is an error too),
``CelProgram.evaluate`` converts the activation to CEL types (JSON values; RFC 3339 strings become
timestamps) and returns plain Python. ``CelProgram.explain`` says why a boolean expression was
false (the failed conjunct, both sides of a failed comparison) for human-readable check results.
"""

from __future__ import annotations

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

from monitor.suites.expressions.cel_values import FUNCTIONS, CelError, show, to_cel, to_python

__all__ = ["CelError", "CelProgram", "compile_cel", "is_plain_path", "show", "to_cel", "to_python"]

_ENV = celpy.Environment()
_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
_PATH = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_RELATIONS = {
    "relation_eq": "==",
    "relation_ne": "!=",
    "relation_lt": "<",
    "relation_le": "<=",
    "relation_gt": ">",
    "relation_ge": ">=",
}

_TOKENS = {"RPAR": "')'", "RSQB": "']'", "RBRACE": "'}'", "COLON": "':'", "COMMA": "','"}


MAX_ERROR_TEXT = 300


def _bounded_repr(self: CELEvalError) -> str:
    """celpy's own ``repr`` of an evaluation error embeds the reprs of its arguments; an
    ``all()`` over a list whose items all fail (a missing key) folds each error into the next
    through ``logical_and``'s ``TypeError(f"... {x!r} ...")``, so the text doubles per item
    (60 metric samples reached 7-14 GB). Bounded here: the first argument and the missing key
    survive, the rest is cut."""
    first = str(self.args[0]) if self.args else ""
    key = f", {self.args[2]!r}" if len(self.args) > 2 and first.startswith("no such") else ""
    text = f"CELEvalError({first!r}{key})"
    return text if len(text) <= MAX_ERROR_TEXT else text[: MAX_ERROR_TEXT - 1] + "…"


CELEvalError.__repr__ = _bounded_repr  # type: ignore[method-assign]


def _clean(message: str) -> str:
    """Drop celpy's dump of the whole activation from an evaluation error."""
    return message.split(" (in activation", 1)[0].strip()


@dataclass(frozen=True, slots=True, eq=False)
class CelProgram:
    """A compiled expression; evaluate it against a mapping of variables."""

    source: str
    tree: Tree[Token]
    _program: Any = field(repr=False)
    names: frozenset[str] = frozenset()  # the top-level variables it refers to

    def evaluate(self, activation: Mapping[str, Any]) -> Any:
        """Evaluate to plain Python; raise ``CelError`` naming the expression on failure."""
        return to_python(self._run(self._program, activation, self.source))

    def _run(self, program: Any, activation: Mapping[str, Any], text: str) -> Any:
        try:
            converted = {k: to_cel(v) for k, v in activation.items()}
            result = program.evaluate(converted)
        except CelError:
            raise
        except RecursionError:
            message = f"CEL expression {_shown(self.source)}: a value is nested too deeply"
            raise CelError(message) from None
        except Exception as exc:
            raise CelError(f"CEL expression {self.source!r}: {_describe(exc, text)}") from None
        if isinstance(result, CELEvalError):
            raise CelError(f"CEL expression {self.source!r}: {_describe(result, text)}")
        return result

    def explain(self, activation: Mapping[str, Any]) -> str:
        """Why the expression is not true: the failing part and the values it compared."""
        converted = {k: to_cel(v) for k, v in activation.items()}
        return _explain(self.source, self.tree, converted) or f"{self.source} is false"


_MISSING = re.compile(r"no such (?:member in mapping|key): ?(?:\\*)'([^'\\]+)")


def _describe(exc: BaseException, text: str) -> str:
    detail = _clean(str(exc.args[0]) if exc.args else str(exc))
    if detail.startswith("no such key") and len(exc.args) > 2 and exc.args[2]:
        return f"no such key {show(exc.args[2][0])}"
    if detail.startswith("found no matching overload"):
        # an error inside && / || / all(): name the missing key it folds, not the operator
        found = _MISSING.search(str(exc)[: 4 * MAX_ERROR_TEXT])
        if found:
            return f"no such key {found.group(1)!r}"
        if detail.startswith("found no matching overload for _?_:_"):
            condition = "null" if "NoneType" in detail.split(",", 1)[0] else "not a boolean"
            return (
                f"the condition of `?:` is {condition} (an argument the suite does not pass is "
                "null: compare it, e.g. `args.x == true ? … : …`)"
            )
    return detail


def _span(src: str, tree: Tree[Token]) -> str:
    meta = tree.meta
    if meta.empty:
        return src
    return src[meta.start_pos : meta.end_pos].strip()


def _sub(src: str, tree: Tree[Token]) -> tuple[str, Any]:
    return _span(src, tree), _ENV.program(tree, functions=FUNCTIONS)


def _value(src: str, tree: Tree[Token], act: Mapping[str, Any]) -> tuple[str, Any, bool]:
    """(source text, value, evaluated fine) of a subtree."""
    text, program = _sub(src, tree)
    try:
        value = program.evaluate(dict(act))
    except Exception as exc:
        return text, _describe(exc, text), False
    if isinstance(value, CELEvalError):
        return text, _describe(value, text), False
    return text, value, True


def _true(value: Any) -> bool:
    return isinstance(value, bool | celtypes.BoolType) and bool(value)


def _side(text: str, value: Any, fine: bool) -> str:
    if not fine:
        return f"{text} = <error: {value}>"
    shown = show(value)
    return text if shown == text else f"{text} = {shown}"


def _kids(node: Tree[Token]) -> list[Tree[Token]]:
    return [c for c in node.children if isinstance(c, Tree)]


def _explain_and(src: str, node: Tree[Token], act: Mapping[str, Any]) -> str | None:
    for part in _kids(node):
        text, value, fine = _value(src, part, act)
        if not fine:
            return f"{text}: {value}"
        if not _true(value):
            return _explain(src, part, act) or f"{text} = {show(value)}"
    return None


def _explain_or(src: str, node: Tree[Token], act: Mapping[str, Any]) -> str | None:
    parts = [_explain(src, part, act) or f"{_span(src, part)} is false" for part in _kids(node)]
    return " and ".join(f"({p})" for p in parts)


def _explain_relation(src: str, node: Tree[Token], act: Mapping[str, Any]) -> str | None:
    kids = _kids(node)
    if len(kids) != 2 or kids[0].data not in _RELATIONS:
        return None
    left = _kids(kids[0])[0]
    sides = [_value(src, part, act) for part in (left, kids[1])]
    (ltext, lvalue, lfine), (rtext, rvalue, rfine) = sides
    right = show(rvalue) if rfine else f"<error: {rvalue}>"
    source = "" if right == rtext else f" ({rtext})"
    return f"{_side(ltext, lvalue, lfine)}, want {_RELATIONS[str(kids[0].data)]} {right}{source}"


def _explain_macro(src: str, node: Tree[Token], act: Mapping[str, Any]) -> str | None:
    target, method, args = node.children
    if str(method) not in ("all", "exists") or not isinstance(target, Tree):
        return None
    assert isinstance(args, Tree)
    var = _bare_ident(args.children[0])
    pred = args.children[1] if len(args.children) == 2 else None
    text, items, fine = _value(src, target, act)
    if var is None or not isinstance(pred, Tree) or not fine:
        return None
    if str(method) == "exists":
        return f"no element of {text} matches (it has {len(items)})"
    for item in items:
        scope = {**act, var: item}
        _, ok, fine = _value(src, pred, scope)
        if not _true(ok):
            why = _explain(src, pred, scope) if fine else str(ok)
            return f"{text} has {var} = {show(item)}" + (f": {why}" if why else "")
    return None


_EXPLAIN = {
    "conditionaland": _explain_and,
    "conditionalor": _explain_or,
    "relation": _explain_relation,
    "member_dot_arg": _explain_macro,
}


def _explain(src: str, tree: Tree[Token], act: Mapping[str, Any]) -> str | None:
    """Why a boolean (sub)expression is false: descend single-child chains to the first node
    that has an explainer (failed conjunct, all disjuncts, both sides, a counterexample)."""
    node = tree
    while True:
        handler = _EXPLAIN.get(str(node.data))
        if handler is not None and len(node.children) > 1:
            return handler(src, node, act)
        if len(node.children) != 1 or not isinstance(node.children[0], Tree):
            return None
        node = node.children[0]


#: CEL's type identifiers (``type(params.gift_items) == map``): names, but never variables.
CEL_TYPE_NAMES = frozenset(
    {"int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type"}
)


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


MAX_CEL_LENGTH = 4000
"""Longest CEL expression compiled."""
MAX_CEL_DEPTH = 200
"""Deepest parse tree compiled: each level of parentheses, operators or calls adds a few, and
evaluation recurses once per level (``((((1))))`` a thousand times deep would exhaust Python's
stack while evaluating, after loading fine). Real checks stay under 60."""


def _depth(tree: Tree[Token]) -> int:
    """Depth of a parse tree, iteratively."""
    deepest, todo = 0, [(tree, 1)]
    while todo:
        node, level = todo.pop()
        deepest = max(deepest, level)
        if level > MAX_CEL_DEPTH:
            return level
        todo.extend((kid, level + 1) for kid in node.children if isinstance(kid, Tree))
    return deepest


def _shown(expr: str) -> str:
    """The expression quoted, cut to a readable length."""
    return repr(expr if len(expr) <= 80 else expr[:79] + "…")


def compile_cel(expr: str, *, variables: Collection[str] | None = None) -> CelProgram:
    """Compile ``expr`` once. Raise ``CelError`` naming the expression and the position."""
    if not isinstance(expr, str) or not expr.strip():
        raise CelError("CEL expression is empty")
    if len(expr) > MAX_CEL_LENGTH:
        raise CelError(f"CEL expression {_shown(expr)} is longer than {MAX_CEL_LENGTH} characters")
    try:
        tree = _ENV.compile(expr)
    except CELParseError as exc:
        raise CelError(_syntax_message(expr, exc)) from None
    except RecursionError:
        raise CelError(f"CEL expression {_shown(expr)} is nested too deeply") from None
    if _depth(tree) > MAX_CEL_DEPTH:
        raise CelError(
            f"CEL expression {_shown(expr)} is nested too deeply (simplify it or split it "
            "into several checks)"
        )
    names = frozenset(_free_names(tree) - CEL_TYPE_NAMES)
    if variables is not None:
        unknown = sorted(names - set(variables))
        if unknown:
            known = ", ".join(sorted(variables))
            raise CelError(
                f"CEL expression {expr!r}: unknown name {', '.join(map(repr, unknown))} "
                f"(available: {known})"
            )
    return CelProgram(expr, tree, _ENV.program(tree, functions=FUNCTIONS), names)


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
        f"CEL expression {_shown(expr)} is invalid at line {line}, column {column}: {what}\n"
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
