"""What a fault is: a name, the guarantee it breaks, and how it changes the Behaviour."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from monitor.reference.behaviour import Behaviour


async def widen(seconds: float) -> None:
    """Pause inside a race window; with 0 the window stays natural (no sleep, no yield)."""
    if seconds > 0:
        await asyncio.sleep(seconds)


@dataclass(frozen=True)
class Fault:
    name: str
    description: str
    """The guarantee this fault breaks."""
    apply: Callable[[Behaviour], Behaviour]
    """Returns a copy of the behaviour with one concern replaced by its broken variant."""
    race: bool = False
    """A race fault: its broken window is widened by ``Behaviour.race_window`` (``soakmon
    target serve --race-window``); at 0 it shows only when concurrent requests overlap it."""
