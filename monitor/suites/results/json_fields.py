"""Reading typed fields of a report document, with errors that name the field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from monitor.errors import UsageError

T = TypeVar("T")


class ReportFormatError(UsageError, ValueError):
    """A report document does not follow the schema; the message names the field."""


def get_field(obj: Mapping[str, Any], key: str, kind: type[T], path: str, default: Any = ...) -> T:
    if key not in obj:
        if default is ...:
            raise ReportFormatError(f"{path}.{key}: missing")
        return cast(T, default)
    value = obj[key]
    if value is None and default is None:
        return cast(T, None)
    ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise ReportFormatError(
            f"{path}.{key}: expected {kind.__name__}, got {type(value).__name__}"
        )
    return cast(T, value)


def items_of(obj: Mapping[str, Any], key: str, path: str) -> list[tuple[str, dict[str, Any]]]:
    items = get_field(obj, key, list, path, default=[])
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ReportFormatError(f"{path}.{key}[{i}]: expected an object")
        out.append((f"{path}.{key}[{i}]", item))
    return out
