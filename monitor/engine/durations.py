"""Parse human durations: ``"500ms"``, ``"30s"``, ``"2m"``, ``"1h"``, ``"1m30s"``, ``"1.5"``."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h)")
_BARE = re.compile(r"\d+(?:\.\d*)?|\.\d+")


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
