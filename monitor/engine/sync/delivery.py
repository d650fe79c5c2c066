"""What one synchronised phase delivery did: the mode used, how tight the final bytes left the
client (send spread) and, when the target reports it, how tight they arrived (arrival spread).

Pure data and arithmetic; :mod:`monitor.engine.sync.sender` fills it in.
"""

from __future__ import annotations

import enum
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from monitor.engine.sessions import ConnectionMode, parse_mode
from monitor.engine.spec import RequestRecord

#: Response header in which a target reports when it saw a request complete: an integer of
#: nanoseconds on a clock shared by its workers (the reference target uses CLOCK_MONOTONIC).
ARRIVAL_HEADER = "X-Arrival-Ns"


class SyncMode(enum.Enum):
    """How the requests of one concurrent phase are delivered."""

    LAST_BYTE = "last-byte"
    """HTTP/1.1: every request written but its final byte on a warm connection, then all final
    bytes released in one tight pass."""
    SINGLE_PACKET = "single-packet"
    """HTTP/2: every request a stream on one connection, their final frames (END_STREAM) sent
    in one write."""
    NONE = "none"
    """No synchronisation: each request goes out as soon as its task runs (aiohttp)."""
    AUTO = "auto"
    """The best the target supports: single-packet when it speaks HTTP/2 (TLS ALPN ``h2`` or
    ``h2c`` configured), else last-byte."""

    @classmethod
    def parse(cls, value: str | SyncMode) -> SyncMode:
        """A mode or its name (``"last-byte"``, ``"last_byte"``, ``"SINGLE-PACKET"`` ...)."""
        return parse_mode(cls, value, "sync mode")


def spread_s(timestamps_ns: Iterable[int]) -> float | None:
    """Largest minus smallest of ``timestamps_ns``, in seconds; ``None`` for fewer than two."""
    values = list(timestamps_ns)
    if len(values) < 2:
        return None
    return (max(values) - min(values)) / 1e9


@dataclass(frozen=True, slots=True)
class PhaseDelivery:
    """How the requests of one concurrent phase (one barrier batch) were delivered."""

    sync: str
    """The mode actually used: ``"last-byte"``, ``"single-packet"`` or ``"none"``."""
    requests: int
    """Requests in the batch."""
    send_spread_s: float | None
    """First to last final byte handed to the kernel (``perf_counter_ns``), seconds. ``None``
    when fewer than two requests were released (the others failed before the barrier). For
    ``none`` (aiohttp): first to last request whose last bytes aiohttp wrote, stamped by its
    tracing signals just before each write (:mod:`monitor.engine.sync.written`)."""
    arrival_spread_s: float | None = None
    """First to last completion the target reported (``X-Arrival-Ns``), seconds; ``None``
    when fewer than two responses carried the header (the target does not report it)."""
    arrivals: int = 0
    """Responses that carried the arrival header."""
    released: int = 0
    """Requests whose final byte was released at the barrier (the rest failed before it:
    connect refused, TLS error ...; those are error records). For ``none``: requests aiohttp
    got as far as writing."""
    connections: int = 0
    """Connections the batch used (HTTP/2: usually one)."""
    connections_warm: bool = True
    """Every connection was open (TCP, TLS, HTTP/2 settings) before the barrier."""
    protocol: str = "http/1.1"
    """``"http/1.1"`` or ``"h2"``."""
    note: str | None = None
    """Why the mode asked for was not used (``"target did not negotiate h2: last-byte"``)."""
    realtime: bool = False
    """The release pass ran at real-time priority (``SCHED_FIFO``; needs ``CAP_SYS_NICE``),
    so the target's wake-ups could not take the sender's CPU in the middle of it."""

    @property
    def start_spread_s(self) -> float | None:
        """The phase's start spread: what the target observed when it reports arrivals, else
        the send spread."""
        return self.arrival_spread_s if self.arrival_spread_s is not None else self.send_spread_s

    def to_dict(self) -> dict[str, object]:
        """JSON form (seconds rounded to the nanosecond)."""
        return {
            "sync": self.sync,
            "requests": self.requests,
            "released": self.released,
            "start_spread_s": _round(self.start_spread_s),
            "send_spread_s": _round(self.send_spread_s),
            "arrival_spread_s": _round(self.arrival_spread_s),
            "arrivals": self.arrivals,
            "connections": self.connections,
            "connections_warm": self.connections_warm,
            "protocol": self.protocol,
            "note": self.note,
            "realtime": self.realtime,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 9)


def spread_summary(spreads: Iterable[float | None]) -> dict[str, float | int] | None:
    """``{"count", "median", "p90", "max"}`` (seconds) of the spreads that were measured
    (``None`` ones are skipped; p90 by nearest rank); ``None`` when none was."""
    values = sorted(v for v in spreads if v is not None)
    if not values:
        return None
    rank = max(0, math.ceil(0.9 * len(values)) - 1)
    return {
        "count": len(values),
        "median": round(statistics.median(values), 9),
        "p90": round(values[rank], 9),
        "max": round(values[-1], 9),
    }


def unsynchronised(
    records: Sequence[RequestRecord], mode: ConnectionMode, written_ns: Sequence[int]
) -> PhaseDelivery:
    """The delivery of a batch sent without synchronisation (aiohttp, each request when its
    task runs): the send spread is that of ``written_ns``, when each request's last bytes were
    handed to the transport (:mod:`monitor.engine.sync.written`; requests that never got that
    far have none), the arrival spread what the target reported in responses kept with their
    headers."""
    arrivals = [
        ns for r in records if (ns := arrival_ns(r.headers)) is not None and r.status is not None
    ]
    return PhaseDelivery(
        sync=SyncMode.NONE.value,
        requests=len(records),
        send_spread_s=spread_s(written_ns),
        arrival_spread_s=spread_s(arrivals),
        arrivals=len(arrivals),
        released=len(written_ns),
        connections=len(records) if mode is not ConnectionMode.SHARED else 0,
        connections_warm=False,
        protocol="http/1.1",
    )


def arrival_ns(headers: Mapping[str, str] | None) -> int | None:
    """The integer nanoseconds of the arrival header, or ``None`` (absent, not an integer)."""
    value = headers.get(ARRIVAL_HEADER) if headers is not None else None
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None
