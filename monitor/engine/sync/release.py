"""The release pass of last-byte delivery: every final byte written back to back.

The pass is mostly kernel time: each one-byte write to a loopback socket runs TCP's send path
and, in the same call, the receiving socket's (3.5-5 µs; a C loop of 20 such writes took
70-80 µs at load average 2.6). What the pass adds to that floor is made small here:

- the write itself is the cheapest safe call (:mod:`~monitor.engine.sync.rawwrite`);
- caches are warm: on a busy host other processes run on the CPU between batches and evict
  the kernel's TCP code and the sockets' state, so the first writes of a cold pass are slow.
  Just before the pass, one byte goes over a private loopback connection (the TCP send and
  receive code) and each socket's ``TCP_INFO`` is read (its ``tcp_sock``). Interleaved with
  plain passes against the reference target (load average 8), this took the median of 20
  writes from 113 to 96 µs.

Both happen before the first final byte, outside the measured send spread. The garbage
collector is off for the pass (a collection that a pass's allocations happened to trigger
would stall it).
"""

from __future__ import annotations

import contextlib
import gc
import os
import socket
from collections.abc import Sequence
from time import perf_counter_ns
from typing import Protocol

from monitor.engine.sync import rawwrite


class _Sock(Protocol):
    def getsockopt(self, level: int, option: int, buflen: int, /) -> bytes: ...


_TCP_INFO = getattr(socket, "TCP_INFO", None)  # Linux
_TCP_INFO_LEN = 104


class _Warmer:
    """A loopback TCP connection of this process to itself, written just before a pass."""

    def __init__(self) -> None:
        self._pid = 0
        self._tx: socket.socket | None = None
        self._rx: socket.socket | None = None

    def _open(self) -> None:
        self.close()
        self._pid = os.getpid()  # a forked worker opens its own
        with contextlib.suppress(OSError):
            with socket.create_server(("127.0.0.1", 0)) as listener:
                tx = socket.create_connection(listener.getsockname()[:2], timeout=1.0)
                rx, _ = listener.accept()
            tx.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tx.setblocking(False)
            rx.setblocking(False)
            self._tx, self._rx = tx, rx

    def warm(self) -> None:
        if self._pid != os.getpid():
            self._open()
        if self._tx is not None:
            with contextlib.suppress(OSError):
                os.write(self._tx.fileno(), b"\0")

    def drain(self) -> None:
        if self._rx is not None:
            with contextlib.suppress(OSError):
                self._rx.recv(65536)

    def close(self) -> None:
        for sock in (self._tx, self._rx):
            if sock is not None:
                sock.close()
        self._tx = self._rx = None


_warmer = _Warmer()


def release(
    finals: Sequence[tuple[int, bytes]], socks: Sequence[_Sock]
) -> tuple[int, int, list[tuple[int, int]]]:
    """Write each ``(fd, data)`` of ``finals`` in order, after warming the caches (``socks``:
    the sockets, for their ``TCP_INFO``). Returns ``(first_ns, last_ns, failed)``:
    ``perf_counter_ns`` just before the first write and just after the last, and
    ``(index, bytes written)`` of each whose data did not leave whole (the caller hands the
    rest to the transport)."""
    collecting = gc.isenabled()
    gc.disable()  # a collection started inside the pass would stall it (µs to ms)
    try:
        return _release(finals, socks)
    finally:
        if collecting:
            gc.enable()


def _release(
    finals: Sequence[tuple[int, bytes]], socks: Sequence[_Sock]
) -> tuple[int, int, list[tuple[int, int]]]:
    if _TCP_INFO is not None:
        for sock in socks:
            with contextlib.suppress(OSError, AttributeError):
                sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _TCP_INFO_LEN)
    _warmer.warm()
    failed: list[tuple[int, int]] = []
    gil_write = rawwrite.gil_write
    if gil_write is None or rawwrite.alone():
        write = os.write
        first = perf_counter_ns()
        for i, (fd, data) in enumerate(finals):
            try:
                if (n := write(fd, data)) != len(data):
                    failed.append((i, n))
            except OSError:
                failed.append((i, 0))
        last = perf_counter_ns()
    else:
        sized = [(fd, data, rawwrite.size(len(data)), len(data)) for fd, data in finals]
        first = perf_counter_ns()
        for i, (fd, data, size, n) in enumerate(sized):
            if (written := gil_write(fd, data, size)) != n:
                failed.append((i, max(written, 0)))
        last = perf_counter_ns()
    _warmer.drain()
    return first, last, failed
