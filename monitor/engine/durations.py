"""Parse human durations: ``"500ms"``, ``"30s"``, ``"2m"``, ``"1h"``, ``"1m30s"``, ``"1.5"``.

The grammar is written once here: :func:`parse_duration` parses it, and
:data:`DURATION_PATTERN` / :data:`POSITIVE_DURATION_PATTERN` are the same grammar as JSON Schema
``pattern`` values (ECMA-262 and Python ``re`` alike), used by the config schemas.
"""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_NUMBER = r"\d+(?:\.\d*)?|\.\d+"
_UNIT = "|".join(_UNITS)  # `ms` before `m`: "5ms" is milliseconds
_PART = re.compile(rf"({_NUMBER})({_UNIT})")
_BARE = re.compile(_NUMBER)


def _any_case(alternatives: str) -> str:
    """``ms|s`` as ``[mM][sS]|[sS]`` (JSON Schema patterns have no case-insensitive flag)."""
    return "|".join(
        "".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in alt)
        for alt in alternatives.split("|")
    )


def _whole(number: str) -> str:
    """A bare number, or one or more number-unit parts, inside optional whitespace."""
    return rf"\s*(?:(?:{number})|(?:(?:{number})(?:{_any_case(_UNIT)}))+)\s*$"


DURATION_PATTERN = "^" + _whole(_NUMBER)
"""What :func:`parse_duration` accepts (up to its ten-year bound), as a JSON Schema pattern:
the string is stripped and lower-cased first, so surrounding whitespace and upper-case units
pass too."""
POSITIVE_DURATION_PATTERN = "^(?!" + _whole(_NUMBER.replace(r"\d", "0")) + ")" + _whole(_NUMBER)
""":data:`DURATION_PATTERN` without the spellings of zero (``0``, ``0s``, ``0.0m0s``)."""


def parse_duration(text: str) -> float:
    """Seconds in ``text``; a bare number means seconds. ``ValueError`` names the problem."""
    raw = text.strip().lower()
    if not raw:
        raise ValueError("empty duration (expected e.g. 30s, 2m, 500ms, 1m30s)")
    if _BARE.fullmatch(raw):
        return _bounded(float(raw), text)
    total, pos = 0.0, 0
    for match in _PART.finditer(raw):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(raw) or pos == 0:
        raise ValueError(f"invalid duration {text!r} (expected e.g. 30s, 2m, 500ms, 1m30s)")
    return _bounded(total, text)


MAX_DURATION_S = 10 * 365 * 86400.0
"""Ten years: longer durations are typos (and overflow timers)."""


def _bounded(seconds: float, text: str) -> float:
    if not seconds <= MAX_DURATION_S:
        shown = text if len(text) <= 40 else text[:39] + "…"
        raise ValueError(f"duration {shown!r} is longer than ten years")
    return seconds
