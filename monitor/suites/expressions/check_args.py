"""Expressions inside checker args: dotted paths or CEL, compiled when the args are validated.

A string arg is an expression (``state.final.balance``, ``-args.amount``,
``state.ledger.filter(r, r.reason == "welcome_gift")``); numbers, lists, maps and booleans are
literals. Plain dotted paths are looked up directly (fast, and the error names the missing key);
anything else is CEL. Scopes: ``params`` and ``state`` always; per-op expressions add the op's
fields (``args``, ``value``, ``user``, ``kind``, ``code``, ``outcome``, ``status``, ``id``);
per-item expressions add ``item``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from monitor.suites.errors import ExpressionError
from monitor.suites.expressions.cel import (
    CelError,
    CelProgram,
    compile_cel,
    is_plain_path,
    show,
    to_cel,
)
from monitor.suites.expressions.names import (
    CHECK_ALL_NAMES,
    CHECK_ARG_NAMES,
    CHECK_ITEM_NAMES,
    CHECK_OP_NAMES,
)
from monitor.suites.results.history import History, Op


class ContextView(Protocol):
    """What checker-argument expressions read of a check's context (``params``, ``state``, the
    ``history``): ``monitor.suites.checks.CheckContext`` provides it; this layer sits below the
    checks and does not import them."""

    @property
    def params(self) -> Mapping[str, Any]: ...
    @property
    def state(self) -> Mapping[str, Any]: ...
    @property
    def history(self) -> History: ...


class CheckDataError(ExpressionError):
    """An expression could not be evaluated against the data (missing key, wrong type)."""


@dataclass(frozen=True, slots=True)
class Expr:
    """A compiled arg expression (a dotted path or a CEL program)."""

    source: str
    _parts: tuple[str, ...] | None = field(default=None, repr=False)
    _program: CelProgram | None = field(default=None, repr=False)
    _negate: bool = field(default=False, repr=False)

    @classmethod
    def parse(cls, source: str, variables: Collection[str] = CHECK_ALL_NAMES) -> Expr:
        """Compile ``source``; a name outside ``variables`` is an error (a ValueError)."""
        text = source.strip()
        negate = text.startswith("-") and is_plain_path(text[1:])
        if is_plain_path(text) or negate:
            parts = tuple(text.removeprefix("-").strip().split("."))
            if parts[0] not in variables:
                raise ValueError(
                    f"expression {source!r}: unknown name {parts[0]!r} here "
                    f"(available: {', '.join(sorted(variables))})"
                )
            return cls(text, _parts=parts, _negate=negate)
        try:
            return cls(text, _program=compile_cel(text, variables=variables))
        except CelError as exc:
            raise ValueError(str(exc)) from None

    def eval(self, scope: Scope) -> Any:
        if self._parts is not None:
            value = _walk(self.source, self._parts, scope.raw)
            return -number(value, self.source[1:]) if self._negate else value
        assert self._program is not None
        try:
            return self._program.evaluate(scope.cel())
        except CelError as exc:
            raise CheckDataError(str(exc)) from None

    def __str__(self) -> str:
        return self.source


def _walk(source: str, parts: tuple[str, ...], scope: Mapping[str, Any]) -> Any:
    value: Any = scope
    for i, part in enumerate(parts):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
            continue
        where = ".".join(parts[:i]) or "the scope"
        if isinstance(value, Mapping):
            keys = ", ".join(sorted(map(str, value))) or "none"
            raise CheckDataError(f"{source}: {where} has no key {part!r} (keys: {keys})")
        raise CheckDataError(f"{source}: {where} is {show(value)}, not a map")
    return value


class Scope:
    """Variables for expressions; the CEL conversion of shared parts is done once."""

    __slots__ = ("_cel", "_own", "_parent", "raw")

    def __init__(self, values: Mapping[str, Any], parent: Scope | None = None) -> None:
        self._parent = parent
        self.raw: dict[str, Any] = {**(parent.raw if parent else {}), **values}
        self._cel: dict[str, Any] | None = None
        self._own = values

    def cel(self) -> dict[str, Any]:
        if self._cel is None:
            base = self._parent.cel() if self._parent else {}
            self._cel = {**base, **{k: to_cel(v) for k, v in self._own.items()}}
        return self._cel

    @classmethod
    def of(cls, ctx: ContextView) -> Scope:
        return cls({"params": dict(ctx.params), "state": dict(ctx.state)})

    def for_op(self, op: Op) -> Scope:
        return Scope(
            {
                "args": dict(op.args),
                "value": op.value,
                "user": op.process,
                "kind": op.kind,
                "code": op.code,
                "outcome": op.outcome.value,
                "status": op.status,
                "id": op.id,
            },
            self,
        )

    def for_item(self, item: Any) -> Scope:
        return Scope({"item": item}, self)


def _expr_parser(variables: Collection[str]) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        if isinstance(value, Expr):
            return value
        if isinstance(value, str):
            return Expr.parse(value, variables)
        raise ValueError("must be an expression (a string)")

    return parse


def _ref_parser(variables: Collection[str]) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        return Expr.parse(value, variables) if isinstance(value, str) else value

    return parse


def _serialize(value: Any) -> Any:
    return value.source if isinstance(value, Expr) else value


def _expr_schema(variables: Collection[str]) -> WithJsonSchema:
    names = ", ".join(variables)
    return WithJsonSchema({"type": "string", "description": f"path or CEL over {names}"})


def _ref_schema(variables: Collection[str]) -> WithJsonSchema:
    names = ", ".join(variables)
    return WithJsonSchema({"description": f"a literal, or a string: path or CEL over {names}"})


#: An expression over ``params`` and ``state`` (the state read back).
ExprArg = Annotated[
    Expr,
    BeforeValidator(_expr_parser(CHECK_ARG_NAMES)),
    PlainSerializer(_serialize),
    _expr_schema(CHECK_ARG_NAMES),
]
#: An expression over one op (``args``, ``value``, ``user``, ... plus params and state).
OpExprArg = Annotated[
    Expr,
    BeforeValidator(_expr_parser(CHECK_OP_NAMES)),
    PlainSerializer(_serialize),
    _expr_schema(CHECK_OP_NAMES),
]
#: An expression over one ``item`` of a list (plus params and state).
ItemExprArg = Annotated[
    Expr,
    BeforeValidator(_expr_parser(CHECK_ITEM_NAMES)),
    PlainSerializer(_serialize),
    _expr_schema(CHECK_ITEM_NAMES),
]
#: A literal (number, list, map, bool, null) or an expression over params and state.
RefArg = Annotated[
    Any,
    BeforeValidator(_ref_parser(CHECK_ARG_NAMES)),
    PlainSerializer(_serialize),
    _ref_schema(CHECK_ARG_NAMES),
]
#: A literal or an expression over one op.
OpRefArg = Annotated[
    Any,
    BeforeValidator(_ref_parser(CHECK_OP_NAMES)),
    PlainSerializer(_serialize),
    _ref_schema(CHECK_OP_NAMES),
]


def resolve(ref: Any, scope: Scope) -> Any:
    """The value of a ``RefArg``: evaluate an expression, return a literal as is."""
    return ref.eval(scope) if isinstance(ref, Expr) else ref


def number(value: Any, what: str) -> int | float:
    """``value`` as a number, or a ``CheckDataError`` naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CheckDataError(f"{what} must be a number, got {show(value)}")
    return value


def as_list(value: Any, what: str) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    raise CheckDataError(f"{what} must be a list, got {show(value)}")


def _to_kinds(value: Any) -> Any:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value) and value:
        return tuple(value)
    raise ValueError("must be an operation kind or a non-empty list of kinds")


#: One operation kind or a list of them (``points.deduct`` / ``[points.add, points.deduct]``).
KindsArg = Annotated[
    tuple[str, ...],
    BeforeValidator(_to_kinds),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}, "minItems": 1},
            ],
            "description": "operation kind(s), e.g. points.deduct",
        }
    ),
]


def matches(where: Expr | None, scope: Scope) -> bool:
    """Whether a ``where`` filter holds (no filter: always)."""
    if where is None:
        return True
    result = where.eval(scope)
    if not isinstance(result, bool):
        raise CheckDataError(f"where {where.source!r} must be true or false, got {show(result)}")
    return result


def hashable(value: Any) -> Hashable:
    """A JSON-like value as a dict key (lists → tuples, maps → sorted item tuples)."""
    if isinstance(value, list | tuple):
        return tuple(hashable(v) for v in value)
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), hashable(v)) for k, v in value.items()))
    return value  # type: ignore[no-any-return]


def select(
    ctx: ContextView, kinds: tuple[str, ...] | None, where: Expr | None, scope: Scope
) -> list[Op]:
    """Ops of ``kinds`` (every op when None) for which ``where`` holds, in invocation order."""
    ops = ctx.history.by_kind(*(kinds or ()))
    return [op for op in ops if matches(where, scope.for_op(op))] if where else list(ops)
