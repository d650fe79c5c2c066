"""What a fault is: a name, the guarantee it breaks, and how it changes the Behaviour."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from monitor.reference.behaviour import Behaviour

PAUSE = 0.02
"""Seconds a broken implementation pauses inside its race window."""


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    """The guarantee this fault breaks."""
    apply: Callable[[Behaviour], Behaviour]
    """Returns a copy of the behaviour with one concern replaced by its broken variant."""
