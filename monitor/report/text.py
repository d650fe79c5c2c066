"""Small text helpers shared by the writers: number formatting and sanitising target text."""

from __future__ import annotations

import re
from typing import Any

# C0/C1 control characters except tab and newline, plus lone surrogates.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def clean(text: Any) -> str:
    """Text safe to print or put in XML: control characters become visible ``\\xNN`` escapes."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), str(text))


def one_line(text: Any, limit: int = 160) -> str:
    """``text`` on one line (runs of whitespace, newlines included, become one space), cut at
    ``limit`` characters with an ellipsis: a multi-line CEL expression in a table cell."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: max(0, limit - 1)].rstrip() + "…"


def fmt_ms(value: Any) -> str:
    """A latency in milliseconds, with a precision that suits its size."""
    if not isinstance(value, int | float):
        return "-"
    if value >= 100:
        return f"{value:,.0f} ms"
    if value >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms"


def fmt_s(value: float) -> str:
    """A duration in seconds (``850 ms``, ``12.3 s``, ``4 min 05 s``)."""
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes} min {seconds:02d} s"
