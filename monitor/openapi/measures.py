"""Numbers read back around a probe: a resource's existence, list lengths, items matching the
payload, integer and boolean fields (counters, flags) — compared by the findings.

Only numbers that can behave as counters are measured. Ids, versions and time-like fields are
left out: by name (``last_modified``, ``updatedAt``, ``created``, ``timestamp``, ``etag``,
``revision``, ``hash`` …) or by value (an integer of 10⁹ or more: an epoch in seconds,
milliseconds or nanoseconds, a hash). Such a field changes on every write by an amount no
request determines, so comparing its moves would call a correct service's clock a drifting
counter (seen on Kinto, whose records carry epoch-ms ``last_modified``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_ID = re.compile(r"(^|_)(id|uuid)$|Id$|^version$|_at$|At$", re.I)
#: Words of a field name that make it no counter (split at ``_``, ``-`` and camelCase).
NOT_COUNTER_WORDS = frozenset((
    "modified", "updated", "created", "deleted", "changed", "time", "timestamp", "ts", "date",
    "datetime", "epoch", "expires", "expiry", "mtime", "ctime", "atime", "etag", "revision",
    "rev", "seq", "sequence", "hash", "checksum", "crc", "nonce", "version", "millis", "nanos",
))  # fmt: skip

#: An integer this large is a timestamp (epoch s / ms / µs / ns) or a hash, not a counter.
TIME_LIKE = 10**9


def counter_like(name: str, *values: Any) -> bool:
    """May the integer field ``name`` holding ``values`` be a counter? Not an id, a version or
    anything time-like (by name or by size)."""
    if _ID.search(name):
        return False
    words = {w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)}
    if words & NOT_COUNTER_WORDS:
        return False
    return all(abs(v) < TIME_LIKE for v in values if isinstance(v, int))


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
            skipped: set[str] = set()
            for item in node[:MAX_ITEMS]:  # quantities held in rows (a list of rewards)
                for key, value in item.items() if isinstance(item, dict) else ():
                    if isinstance(value, int) and not isinstance(value, bool):
                        if counter_like(key, value):
                            sums[key] = sums.get(key, 0) + value
                        else:
                            skipped.add(key)  # one time-like value leaves the column out
            for key, total in sums.items():
                if key not in skipped:
                    out[f"{label}:{path}[].{key}#sum"] = total
            if tokens:
                out[f"{label}:{path}#match"] = sum(_contains(i, tokens) for i in node)
        elif isinstance(node, bool):
            out[f"{label}:{path}"] = int(node)
        elif isinstance(node, int) and counter_like(path.rsplit(".", 1)[-1], node):
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
