"""A small YAML writer that keeps comments: flow values for leaves, block mappings above them.

PyYAML drops comments, and a drafted file is mostly its comments; every value written here is
JSON-compatible YAML (double-quoted strings only where plain ones would change meaning)."""

from __future__ import annotations

import json
import re
from typing import Any

_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./ -]*$")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def scalar(value: Any) -> str:
    """One YAML scalar."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED and not text.endswith(" "):
        return text
    return json.dumps(text, ensure_ascii=False)


def flow(value: Any) -> str:
    """A value in flow style (``{a: 1, b: [x, y]}``)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def comment(text: str, indent: int = 0) -> list[str]:
    """``# text`` lines (wrapped at ~96 columns)."""
    pad, lines, line = " " * indent, [], ""
    for word in text.split():
        if line and len(pad) + len(line) + len(word) + 3 > 96:
            lines.append(f"{pad}# {line}")
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(f"{pad}# {line}")
    return lines


def entry(key: str, value: Any, indent: int = 0, note: str | None = None) -> str:
    """``key: value  # note`` on one line."""
    text = f"{' ' * indent}{scalar(key)}: {flow(value)}"
    return f"{text}  # {note}" if note else text
