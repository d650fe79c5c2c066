"""``{var}`` / ``${expr}`` templating over a context (args, session, params, saved state).

- ``"${expr}"`` alone keeps the value's type (``"${params.amount}"`` -> ``300``);
- ``"/tasks/{task_id}"`` and ``"Bearer ${session.token}"`` interpolate into a string; when an
  interpolated value is null the whole string is null (``'"{if_match}"'`` -> omitted header);
- an ``expr`` that is a plain path (``saved.tasks[0].id``) is looked up directly (fast path);
  anything else is a CEL expression (``${params.balance - params.amount}``), compiled once.

Templates are compiled when a file is loaded, so a broken expression is a load error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from monitor.suites.errors import ExpressionError
from monitor.suites.expressions.cel import compile_cel

_VAR = re.compile(r"\{(?P<var>[A-Za-z_][\w.]*)\}")


@dataclass(frozen=True, slots=True)
class _Token:
    """One ``${expr}`` (braces inside balanced, quoted strings skipped) or ``{var}`` token."""

    begin: int
    finish: int
    expr: str | None
    var: str | None

    def start(self) -> int:
        return self.begin

    def end(self) -> int:
        return self.finish

    def group(self, name: str) -> str | None:
        return self.expr if name == "expr" else self.var


def _closing(text: str, pos: int) -> int:
    """Index of the ``}`` closing the ``${`` whose body starts at ``pos``; -1 when none."""
    depth, quote, i = 1, "", pos
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


class _Tokens:
    """``${expr}`` with CEL map/list literals inside (``${ {"a": 1}.a }``) and ``{var}``."""

    @staticmethod
    def finditer(text: str) -> list[_Token]:
        out: list[_Token] = []
        i = 0
        unclosed = False  # once a ``${`` is never closed, no later one is (linear, not n²)
        while i < len(text):
            if not unclosed and text.startswith("${", i):
                end = _closing(text, i + 2)
                unclosed = end < 0
                if end > i + 2 and text[i + 2 : end].strip():
                    out.append(_Token(i, end + 1, text[i + 2 : end], None))
                    i = end + 1
                    continue
            elif text[i] == "{":
                m = _VAR.match(text, i)
                if m:
                    out.append(_Token(i, m.end(), None, m.group("var")))
                    i = m.end()
                    continue
            i += 1
        return out

    @classmethod
    def fullmatch(cls, text: str) -> _Token | None:
        found = cls.finditer(text)
        return (
            found[0] if len(found) == 1 and found[0].end() - found[0].start() == len(text) else None
        )

    @classmethod
    def search(cls, text: str) -> _Token | None:
        found = cls.finditer(text)
        return found[0] if found else None


_TOKEN = _Tokens
_PATH = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[\d+\])*$")
_PART = re.compile(r"\.?([A-Za-z_]\w*)|\[(\d+)\]")

Evaluator = Callable[[Mapping[str, Any]], Any]
_MISSING = object()


def _path_evaluator(expr: str) -> Evaluator:
    parts: list[str | int] = [
        m.group(1) if m.group(1) is not None else int(m.group(2)) for m in _PART.finditer(expr)
    ]

    def evaluate(ctx: Mapping[str, Any]) -> Any:
        value: Any = ctx
        for part in parts:
            in_list = isinstance(part, int) and isinstance(value, list)
            if (in_list and -len(value) <= int(part) < len(value)) or (
                isinstance(part, str) and isinstance(value, Mapping) and part in value
            ):
                value = value[part]
            else:
                raise ExpressionError(f"{expr!r}: no value at {part!r}")
        return value

    return evaluate


def compile_expr(expr: str) -> Evaluator:
    """Compile one expression (path or CEL); raise ``ExpressionError`` when it cannot be."""
    expr = expr.strip()
    if _PATH.match(expr):
        return _path_evaluator(expr)
    return compile_cel(expr).evaluate


def expression_roots(value: Any) -> set[str]:
    """Top-level names a template refers to (``params.x`` -> ``params``), for validation."""
    roots: set[str] = set()
    for text in _strings(value):
        for m in _TOKEN.finditer(text):
            expr = m.group("expr") or m.group("var") or ""
            first = re.match(r"\s*([A-Za-z_]\w*)", expr)
            if first:
                roots.add(first.group(1))
    return roots


def params_used(value: Any) -> set[str]:
    """Names of ``params.NAME`` referenced in a template."""
    found: set[str] = set()
    for text in _strings(value):
        for m in _TOKEN.finditer(text):
            expr = m.group("expr") or m.group("var") or ""
            found.update(re.findall(r"\bparams\.([A-Za-z_]\w*)", expr))
    return found


def names_used(value: Any, root: str) -> set[str]:
    """Names ``root.NAME`` referenced in a template, plus bare top-level ``{NAME}`` variables
    (used to default a profile operation's absent optional arguments to null)."""
    found: set[str] = set()
    for text in _strings(value):
        for m in _TOKEN.finditer(text):
            expr = m.group("expr") or m.group("var") or ""
            found.update(re.findall(rf"\b{root}\.([A-Za-z_]\w*)", expr))
            var = m.group("var")
            if var and "." not in var:
                found.add(var)
    return found


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


@dataclass(frozen=True, slots=True)
class Template:
    """A compiled template: render it against a context to get a JSON-like value."""

    source: Any
    _render: Callable[[Mapping[str, Any]], Any]

    def render(self, ctx: Mapping[str, Any]) -> Any:
        try:
            return self._render(ctx)
        except ExpressionError:
            raise
        except Exception as exc:
            raise ExpressionError(f"{self.source!r}: {exc}") from None

    @property
    def is_constant(self) -> bool:
        return not _strings_with_tokens(self.source)


def _strings_with_tokens(value: Any) -> bool:
    return any(_TOKEN.search(s) for s in _strings(value))


def _compile_string(text: str) -> Callable[[Mapping[str, Any]], Any]:
    whole = _TOKEN.fullmatch(text)
    if whole:
        return compile_expr(whole.group("expr") or whole.group("var") or "")
    pieces: list[str | Evaluator] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        pieces.append(text[pos : m.start()])
        pieces.append(compile_expr(m.group("expr") or m.group("var") or ""))
        pos = m.end()
    if not pieces:
        return lambda ctx: text
    pieces.append(text[pos:])

    def render(ctx: Mapping[str, Any]) -> str | None:
        out: list[str] = []
        for piece in pieces:
            if isinstance(piece, str):
                out.append(piece)
                continue
            value = piece(ctx)
            if value is None:  # an optional value is absent: so is the whole string
                return None
            out.append(_to_text(value))
        return "".join(out)

    return render


def _to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _compile_value(value: Any) -> Callable[[Mapping[str, Any]], Any]:
    if isinstance(value, str):
        return _compile_string(value)
    if isinstance(value, Mapping):
        items = [(str(k), _compile_value(v)) for k, v in value.items()]
        return lambda ctx: {k: f(ctx) for k, f in items}
    if isinstance(value, list | tuple):
        funcs = [_compile_value(v) for v in value]
        return lambda ctx: [f(ctx) for f in funcs]
    return lambda ctx: value


def compile_template(value: Any) -> Template:
    """Compile a JSON-like value whose strings may hold ``{var}`` / ``${expr}`` tokens."""
    return Template(value, _compile_value(value))


def render(value: Any, ctx: Mapping[str, Any]) -> Any:
    """Compile and render in one go (for values that are used once)."""
    return compile_template(value).render(ctx)
