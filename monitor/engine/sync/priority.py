"""The release pass at real-time priority, and the CPUs awake for it, when the process may.

On a busy host every final byte written wakes the target's process, and the scheduler often
hands it the writer's CPU: a pass of 20 one-byte writes that costs ~80 µs of system time then
takes half a millisecond or more. Holding ``SCHED_FIFO`` (priority 1, the lowest real-time
level) for the pass alone, a few dozen microseconds to a few hundred, keeps the writer on its
CPU until the last byte is out. Needs ``CAP_SYS_NICE`` (root, or a container granted it);
without it the pass runs at normal priority and :func:`pass_priority` says so.

An idle CPU sleeps in a state it takes time to leave (a halt, or a VM exit on a virtual
machine): each final byte that wakes the target's process on an idle CPU pays that exit.
:func:`cpus_awake` holds a CPU wake-up latency request of 0 µs (``/dev/cpu_dma_latency``, the
kernel's PM QoS interface that cyclictest and tuned's latency-performance profile use) from the
settle before the pass until the pass ends, a few milliseconds: idle CPUs poll instead of
halting meanwhile. Measured on a 2-CPU VM (haltpoll), 20 requests on loopback: median send
spread 94/89/98 -> 85/76/83 µs (load 2). Needs root (the device is 0600); without it nothing
changes.
"""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Iterator

_denied = False
_no_qos: set[str] = set()
"""Devices found closed to this process (one probe each: the answer does not change)."""
QOS_DEVICE = "/dev/cpu_dma_latency"


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


@contextlib.contextmanager
def cpus_awake(device: str = QOS_DEVICE) -> Iterator[bool]:
    """Hold a 0 µs CPU wake-up latency request for the block when allowed; yields whether it
    is held. The request lasts as long as the device stays open."""
    if device in _no_qos:
        yield False
        return
    try:
        fd = os.open(device, os.O_WRONLY | os.O_CLOEXEC)
    except OSError:
        _no_qos.add(device)
        yield False
        return
    try:
        try:
            os.write(fd, struct.pack("i", 0))
        except OSError:
            _no_qos.add(device)
            yield False
            return
        yield True
    finally:
        os.close(fd)
