"""Numbers read back around a probe: a resource's existence, list lengths, items matching the
payload, integer and boolean fields (counters, flags, versions) — compared by the findings."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_ID = re.compile(r"(^|_)(id|uuid)$|Id$|^version$|_at$|At$", re.I)
MAX_DEPTH = 3
MAX_ITEMS = 200


def _contains(item: Any, tokens: Iterable[str]) -> bool:
    text = repr(item)
    return all(t in text for t in tokens)


def measures(label: str, status: int | None, body: Any, tokens: list[str]) -> dict[str, float]:
    """The measures of one read (``label`` names the GET it came from)."""
    out: dict[str, float] = {}
    if status is None:
        return out
    if 200 <= status < 300:
        out[f"{label}#exists"] = 1
    elif status in {404, 410}:
        out[f"{label}#exists"] = 0
        return out
    else:
        return out

    def walk(node: Any, path: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            return
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key), depth + 1)
        elif isinstance(node, list):
            out[f"{label}:{path}#len"] = len(node)
            sums: dict[str, float] = {}
            for item in node[:MAX_ITEMS]:  # quantities held in rows (a list of rewards)
                for key, value in item.items() if isinstance(item, dict) else ():
                    if (
                        isinstance(value, int)
                        and not isinstance(value, bool)
                        and not _ID.search(key)
                    ):
                        sums[key] = sums.get(key, 0) + value
            for key, total in sums.items():
                out[f"{label}:{path}[].{key}#sum"] = total
            if tokens:
                out[f"{label}:{path}#match"] = sum(_contains(i, tokens) for i in node)
        elif isinstance(node, bool):
            out[f"{label}:{path}"] = int(node)
        elif isinstance(node, int) and not _ID.search(path.rsplit(".", 1)[-1]):
            out[f"{label}:{path}"] = node

    walk(body, "", 0)
    return out


def tokens_of(value: Any) -> list[str]:
    """The unique tokens (``soak-…``) a payload holds."""
    found: list[str] = []
    if isinstance(value, dict):
        for v in value.values():
            found.extend(tokens_of(v))
    elif isinstance(value, list):
        for v in value:
            found.extend(tokens_of(v))
    elif isinstance(value, str) and value.startswith("soak-"):
        found.append(value)
    return found


def find_field(body: Any, name: str, depth: int = 0) -> tuple[bool, Any]:
    """``(found, value)`` of the first field ``name`` in a JSON answer (envelopes searched)."""
    if not isinstance(body, dict) or depth > 2:
        return False, None
    if name in body:
        return True, body[name]
    for value in body.values():
        found, inner = find_field(value, name, depth + 1)
        if found:
            return True, inner
    return False, None
