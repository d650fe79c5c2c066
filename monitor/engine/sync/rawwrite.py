"""The ``write(2)`` of the release pass: the cheapest one that no other thread can interrupt.

``os.write`` releases the interpreter lock around the system call. When another Python thread
of the process is runnable (the demo's in-process reference target, a user's own threads), it
takes the lock and the writer waits for it back after every final byte: a 20-request pass
measured 1.2-3.3 ms instead of ~0.1 ms with the demo target in a thread. Calling libc's
``write`` through :class:`ctypes.PyDLL` (which, unlike ``CDLL``, does not release the lock)
avoids that, but costs more per call than ``os.write``: measured in one interleaved run (load
average 6-8), 20 final bytes took 110 µs with ``os.write``, 125 µs with the bare ``PyDLL`` call
and 146 µs through a Python wrapper with ``argtypes`` (the previous code). So the pass uses
``os.write`` while the process has a single Python thread (nobody can take the lock; see
:func:`alone`) and the bare ``PyDLL`` call otherwise. The sockets are non-blocking (asyncio's),
so either call returns at once.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable

GilWrite = Callable[[int, bytes, ctypes.c_size_t], int]
"""``gil_write(fd, data, size(len(data))) -> bytes written``, negative on failure (the
error number in :func:`ctypes.get_errno`)."""


def _load() -> GilWrite | None:
    try:
        raw = ctypes.PyDLL(None, use_errno=True).write
    except (OSError, AttributeError):
        return None
    # no argtypes (each call converts nothing; ~0.7 µs cheaper): fd is an int, data bytes
    # (char *), the length a ready c_size_t from size()
    raw.restype = ctypes.c_ssize_t
    return raw


gil_write: GilWrite | None = _load()
"""libc's ``write`` keeping the interpreter lock, or ``None`` where libc cannot be loaded
(the pass then uses ``os.write``)."""


def size(n: int) -> ctypes.c_size_t:
    """The length argument of :data:`gil_write` (a bare int would reach libc as an ``int``)."""
    return ctypes.c_size_t(n)


def alone() -> bool:
    """No other Python thread exists, so releasing the lock in a system call lets nobody in."""
    return threading.active_count() == 1
