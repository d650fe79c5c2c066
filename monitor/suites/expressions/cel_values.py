"""JSON-like Python values <-> CEL values, and a short rendering of either.

RFC 3339 strings become CEL timestamps; CEL results come back as plain Python (aware datetimes,
seconds for durations). ``FUNCTIONS`` overrides celpy's equality so ``x == null`` works as CEL
specifies. Used by ``cel`` (programs) and ``check_args`` (checker-argument expressions).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

from celpy import celtypes
from celpy.evaluation import bool_eq, bool_ne

from monitor.suites.errors import ExpressionError

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")

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


class CelError(ExpressionError):
    """A CEL expression cannot be compiled, or failed while evaluating."""


def _null_eq(a: Any, b: Any) -> Any:
    """CEL's heterogeneous equality with null (``x == null`` is false for a number, true for
    null): celpy 0.5 raises "no such overload" instead, so ``args.limit == null`` — the natural
    test of an absent optional argument — failed whenever the argument was given."""
    if a is None or b is None:
        return celtypes.BoolType(a is None and b is None)
    return bool_eq(a, b)


def _null_ne(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return celtypes.BoolType(not (a is None and b is None))
    return bool_ne(a, b)


def _ends(p: Any) -> tuple[Any, Any]:
    """A parameter's range: a number is its own range, a map ``{min, max}`` its ends."""
    if isinstance(p, celtypes.MapType):
        lo, hi = p.get(celtypes.StringType("min")), p.get(celtypes.StringType("max"))
        if lo is None or hi is None:
            raise TypeError(f"a range is a map {{min, max}}, got {dict(p)}")
        return lo, hi
    if isinstance(p, bool) or not isinstance(p, int | float):
        raise TypeError(f"a range is a number or a map {{min, max}}, got {p!r}")
    return p, p


def _within(x: Any, p: Any) -> Any:
    """``within(x, p)``: ``x`` lies in ``p`` — a number (equal) or a range ``{min, max}``."""
    lo, hi = _ends(p)
    return celtypes.BoolType(bool(lo <= x <= hi))


def _low(p: Any) -> Any:
    """``low(p)``: the lower end of a range (a number is its own)."""
    return _ends(p)[0]


def _high(p: Any) -> Any:
    """``high(p)``: the upper end of a range (a number is its own)."""
    return _ends(p)[1]


def _base64(value: Any) -> Any:
    """``base64(s)``: standard base64 of a string's UTF-8 bytes (or of bytes), as a string —
    for HTTP Basic auth: ``"Basic " + base64(session.username + ":" + session.password)``."""
    if isinstance(value, celtypes.BytesType | bytes):
        raw = bytes(value)
    elif isinstance(value, str):
        raw = str(value).encode()
    else:
        raise TypeError(f"base64() takes a string or bytes, got {value!r}")
    return celtypes.StringType(base64.b64encode(raw).decode("ascii"))


FUNCTIONS: dict[str, Any] = {
    "_==_": _null_eq,
    "_!=_": _null_ne,
    "within": _within,
    "low": _low,
    "high": _high,
    "base64": _base64,
}


INT_MIN, INT_MAX = -(2**63), 2**63 - 1


def _cut(value: object) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def cel_problem(value: Any) -> str | None:
    """Why ``value`` cannot be handed to CEL (an integer outside 64 bits), or None."""
    try:
        to_cel(value)
    except CelError as exc:
        return str(exc)
    except RecursionError:
        return "nested too deeply"
    return None


def to_cel(value: Any) -> Any:
    """Convert a JSON-like Python value to CEL types (RFC 3339 strings → timestamps)."""
    if value is None or isinstance(value, _CEL_TYPES):
        return _already_cel(value)
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise CelError(f"{_cut(value)} is outside the 64-bit integers CEL computes with")
        return celtypes.IntType(value)
    if isinstance(value, float):
        return celtypes.DoubleType(value)
    if isinstance(value, str):
        if _RFC3339.match(value):
            try:
                return celtypes.TimestampType(value.replace(" ", "T"))
            except Exception:  # an impossible date (2024-02-30T...): a plain string, then
                return celtypes.StringType(value)
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
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.6g}" if abs(value) < 1e6 else f"{value:.1f}"
    if isinstance(value, str | list | dict):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = str(value)
    return text if len(text) <= 120 else text[:119] + "…"
