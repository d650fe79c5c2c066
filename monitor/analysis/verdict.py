"""The outcome of one soak analysis: the same shape as a check result, free of any I/O."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Verdict:
    """One analysis outcome; the daemon turns it into a check result and a metric."""

    name: str
    passed: bool
    expected: str
    observed: str
    message: str
    #: ``False`` while there is not yet enough data to judge (a verdict that cannot fail yet).
    conclusive: bool = True


def inconclusive(name: str, expected: str, why: str) -> Verdict:
    """A verdict for a window that does not hold enough data yet; it never fires an alert."""
    return Verdict(name, True, expected, "not enough data", why, conclusive=False)
