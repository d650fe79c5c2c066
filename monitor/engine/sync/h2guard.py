"""What the HTTP/2 client accepts from a server, beyond what ``h2`` checks itself.

``h2`` validates frames, HPACK, header list size, flow control and CONTINUATION backlogs, but
it buffers a frame's whole declared body (up to 16 MiB) before refusing it as too large, loses
every event of a read when one frame in it is bad, and answers any number of PING and
SETTINGS frames. ``whole_frames`` splits a read at frame boundaries and refuses an oversized
frame on its header; ``ControlBudget`` ends a connection flooded with frames that carry no
answer (the "ping / settings / empty frames flood" denial of service).
"""

from __future__ import annotations

from collections.abc import Iterator
from time import monotonic

import h2.events

from monitor.errors import SoakmonError

MAX_CONTROL_PER_S = 1000
"""PING, SETTINGS, unknown, PRIORITY and empty DATA frames (but the one ending an answer) a
server may send in one second: a real server sends a handful; more is a flood that would keep
the event loop busy past every timeout."""
MAX_UNSENT = 16 * 1024 * 1024
"""Bytes of our own frames (acknowledgements above all) waiting for a server that does not read."""
_CONTROL = (
    h2.events.PingReceived,
    h2.events.PingAckReceived,
    h2.events.RemoteSettingsChanged,
    h2.events.SettingsAcknowledged,
    h2.events.UnknownFrameReceived,
    h2.events.PriorityUpdated,
)


class FrameRefused(SoakmonError):
    """The server sent what the client does not accept (the message says what)."""


def whole_frames(buf: bytearray, limit: int) -> Iterator[bytes]:
    """Take each complete frame off the front of ``buf`` (what is left waits for the next
    read); :class:`FrameRefused` for a frame header declaring more than ``limit`` bytes."""
    while len(buf) >= 9:
        length = int.from_bytes(buf[:3], "big")
        if length > limit:
            raise FrameRefused(f"a frame of {length} bytes, over the {limit} we allow")
        if len(buf) < 9 + length:
            return
        frame = bytes(buf[: 9 + length])
        del buf[: 9 + length]
        yield frame


class ControlBudget:
    """Counts frames that carry no answer, per second; :class:`FrameRefused` past the budget."""

    def __init__(self, per_second: int = MAX_CONTROL_PER_S) -> None:
        self.per_second = per_second
        self._count = 0
        self._since = monotonic()

    def spend(self, event: h2.events.Event) -> None:
        # an empty DATA that ends its stream is how many servers (hypercorn among them) end an
        # answer: once per stream, and the streams are ours; only the others are a flood
        empty_data = (
            isinstance(event, h2.events.DataReceived)
            and not event.data
            and event.stream_ended is None
        )
        if not (empty_data or isinstance(event, _CONTROL)):
            return
        now = monotonic()
        if now - self._since >= 1.0:
            self._count, self._since = 0, now
        self._count += 1
        if self._count > self.per_second:
            raise FrameRefused(
                f"a flood of control frames (over {self.per_second} PING, SETTINGS, "
                "PRIORITY, unknown or empty DATA frames in one second)"
            )


def code_name(code: object) -> str:
    """An HTTP/2 error code by its name (``INTERNAL_ERROR``), or its number when unknown."""
    return str(getattr(code, "name", code))
