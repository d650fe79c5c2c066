"""One ``write(2)`` that keeps the interpreter lock, for the release pass.

``os.write`` releases the GIL around the system call. When another Python thread of the process
is runnable (the demo's in-process reference target, a user's own threads), it takes the lock
and the writer waits for it back after every final byte: a 20-request pass measured
1.2-3.3 ms instead of ~0.1 ms with the demo target in a thread. The sockets are non-blocking
(asyncio's), so the call returns at once; holding the lock for it costs nothing else. Calling
libc's ``write`` through :class:`ctypes.PyDLL` (which, unlike ``CDLL``, does not release the
lock) does that. Where libc cannot be loaded this way, :func:`write` is ``os.write``.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable


def _load() -> Callable[[int, bytes], int] | None:
    try:
        libc = ctypes.PyDLL(None, use_errno=True)
        raw = libc.write
    except (OSError, AttributeError):
        return None
    raw.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t]
    raw.restype = ctypes.c_ssize_t

    def write(fd: int, data: bytes) -> int:
        written: int = raw(fd, data, len(data))
        if written < 0:
            errno = ctypes.get_errno()
            raise OSError(errno, os.strerror(errno))
        return written

    return write


write: Callable[[int, bytes], int] = _load() or os.write
"""``write(fd, data) -> bytes written``; raises :class:`OSError` like ``os.write``."""
