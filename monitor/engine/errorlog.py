"""Bounded, de-duplicated error messages: ``"timeout after 2.0 s (x7)"``."""

from __future__ import annotations

DEFAULT_MAX_DISTINCT = 20


class ErrorLog:
    """Counts error messages; keeps at most ``max_distinct`` different ones."""

    __slots__ = ("_counts", "_max_distinct", "_overflow")

    def __init__(self, max_distinct: int = DEFAULT_MAX_DISTINCT) -> None:
        self._counts: dict[str, int] = {}
        self._max_distinct = max_distinct
        self._overflow = 0

    def add(self, message: str, count: int = 1) -> None:
        """Count ``message`` (``count`` times)."""
        counts = self._counts
        if message in counts:
            counts[message] += count
        elif len(counts) < self._max_distinct:
            counts[message] = count
        else:
            self._overflow += count

    def merge(self, other: ErrorLog) -> None:
        """Add ``other``'s counts into this log."""
        for message, count in other._counts.items():
            self.add(message, count)
        self._overflow += other._overflow

    def copy(self) -> ErrorLog:
        """An independent copy."""
        new = ErrorLog(self._max_distinct)
        new.merge(self)
        return new

    def add_overflow(self, count: int) -> None:
        """Count ``count`` errors whose messages were not kept (another log's overflow)."""
        self._overflow += count

    @property
    def overflow(self) -> int:
        """Errors counted without their message (beyond ``max_distinct`` messages)."""
        return self._overflow

    @property
    def counts(self) -> dict[str, int]:
        """Message -> occurrences (a copy)."""
        return dict(self._counts)

    def messages(self) -> list[str]:
        """Messages, most frequent first, with ``(xN)`` when repeated."""
        ordered = sorted(self._counts.items(), key=lambda item: -item[1])
        out = [msg if n == 1 else f"{msg} (x{n})" for msg, n in ordered]
        if self._overflow:
            out.append(f"... {self._overflow} more error(s) with other messages")
        return out
