"""Waits to the microsecond on the event loop: a Linux ``timerfd`` the loop watches.

asyncio's and uvloop's timers have millisecond resolution (``epoll_wait`` takes milliseconds;
libuv rounds each delay to a millisecond of its cached loop time), so an open-model iteration
due in 0.3 ms would start up to a millisecond early or late, and its latency, measured from
the intended start, would carry that error (about +0.5 ms at the median against a compiled
generator such as vegeta, whose timers are exact). A ``timerfd`` armed for the absolute
``CLOCK_MONOTONIC`` instant (the clock of ``time.monotonic``) wakes the loop's ``epoll`` at
that instant, with no thread and no busy waiting.

Linux only, through libc (``os.timerfd_create`` arrives with Python 3.13); elsewhere
:func:`fine_timer` returns ``None`` and the runner keeps the loop's timers.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import math
import os
import sys
from time import monotonic

_CLOCK_MONOTONIC = 1
_TFD_TIMER_ABSTIME = 1


class _Timespec(ctypes.Structure):
    _fields_ = (("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long))


class _Itimerspec(ctypes.Structure):
    _fields_ = (("it_interval", _Timespec), ("it_value", _Timespec))


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.timerfd_create.argtypes = (ctypes.c_int, ctypes.c_int)
        libc.timerfd_settime.argtypes = (
            ctypes.c_int, ctypes.c_int, ctypes.POINTER(_Itimerspec), ctypes.c_void_p,
        )  # fmt: skip
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()


class FineTimer:
    """One ``timerfd`` on the running loop; :meth:`sleep_until` one waiter at a time."""

    def __init__(self, libc: ctypes.CDLL, fd: int) -> None:
        self._libc = libc
        self._fd = fd
        self._loop = asyncio.get_running_loop()
        self._waiter: asyncio.Future[None] | None = None
        self._spec = _Itimerspec()
        self._loop.add_reader(fd, self._fired)

    async def sleep_until(self, when: float) -> None:
        """Return at ``when`` (a ``time.monotonic()`` instant), not before it."""
        if when <= monotonic():
            return
        frac, whole = math.modf(when)
        spec = self._spec
        spec.it_value.tv_sec = int(whole)
        spec.it_value.tv_nsec = int(frac * 1e9)
        if self._libc.timerfd_settime(self._fd, _TFD_TIMER_ABSTIME, ctypes.byref(spec), None):
            await asyncio.sleep(max(0.0, when - monotonic()))  # cannot arm: the loop's timer
            return
        self._waiter = waiter = self._loop.create_future()
        try:
            await waiter
        finally:
            self._waiter = None

    def _fired(self) -> None:
        with contextlib.suppress(BlockingIOError, InterruptedError):
            os.read(self._fd, 8)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def close(self) -> None:
        """Stop watching and close the ``timerfd``."""
        with contextlib.suppress(Exception):
            self._loop.remove_reader(self._fd)
        with contextlib.suppress(OSError):
            os.close(self._fd)


def fine_timer() -> FineTimer | None:
    """A :class:`FineTimer` on the running loop, or None where there is no ``timerfd``."""
    if _LIBC is None:
        return None
    fd = _LIBC.timerfd_create(_CLOCK_MONOTONIC, os.O_NONBLOCK | os.O_CLOEXEC)
    if fd < 0:
        return None
    try:
        return FineTimer(_LIBC, fd)
    except (OSError, NotImplementedError, RuntimeError):
        os.close(fd)
        return None
