"""The release pass at real-time priority, when the process may have it.

On a busy host every final byte written wakes the target's process, and the scheduler often
hands it the writer's CPU: a pass of 20 one-byte writes that costs ~80 µs of system time then
takes half a millisecond or more. Holding ``SCHED_FIFO`` (priority 1, the lowest real-time
level) for the pass alone, a few dozen microseconds to a few hundred, keeps the writer on its
CPU until the last byte is out. Needs ``CAP_SYS_NICE`` (root, or a container granted it);
without it the pass runs at normal priority and :func:`pass_priority` says so.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

_denied = False


@contextlib.contextmanager
def pass_priority() -> Iterator[bool]:
    """Run the block at ``SCHED_FIFO`` priority 1 when allowed; yields whether it is."""
    global _denied  # noqa: PLW0603  (one probe per process: the answer does not change)
    setter = getattr(os, "sched_setscheduler", None)
    if _denied or setter is None:
        yield False
        return
    try:
        previous = os.sched_getscheduler(0), os.sched_getparam(0)
        setter(0, os.SCHED_FIFO, os.sched_param(1))
    except (OSError, AttributeError):
        _denied = True
        yield False
        return
    try:
        yield True
    finally:
        with contextlib.suppress(OSError):
            setter(0, previous[0], previous[1])
