"""Logical target metrics guessed from the series a ``/metrics`` endpoint exposes (``soakmon
init --target``): memory, the database pool and transaction retries, by their usual names."""

from __future__ import annotations

import re
from collections.abc import Iterable

#: logical name -> the series-name pattern it is guessed from (first match wins)
PATTERNS = {
    "rss_bytes": r"^process_resident_memory_bytes$",
    "db_pool_size": r"(db|database|sql|pg|connection)_?pool_(size|max|capacity)$",
    "db_pool_in_use": (
        r"(db|database|sql|pg|connection)_?pool_(in_use|checked_out|busy|active|used)$"
    ),
    "db_pool_waiting": r"(db|database|sql|pg|connection)_?pool_(waiting|waiters|pending|queued)$",
    "tx_retries_total": r"(tx|transaction|deadlock)_?retr(y|ies)_total$",
}


def series_names(exposition: str) -> list[str]:
    """Sample names of a Prometheus text exposition (no comments, no labels)."""
    names = (re.split(r"[{\s]", line, maxsplit=1)[0] for line in exposition.splitlines())
    return sorted({n for n in names if n and not n.startswith("#")})


def guess_metrics(names: Iterable[str]) -> dict[str, str]:
    """The logical metrics whose usual series names appear in ``names``."""
    names = list(names)
    out: dict[str, str] = {}
    for logical, pattern in PATTERNS.items():
        found = [n for n in names if re.search(pattern, n)]
        if found:
            out[logical] = found[0]
    return out
