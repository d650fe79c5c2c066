"""Synchronised delivery of a concurrent phase: every request of one barrier batch reaches the
target as close to the same instant as the transport allows, and how close is measured.

- ``last-byte`` (HTTP/1.1): connections opened (TCP_NODELAY, TLS) before the barrier, each
  request written except its final byte, then all final bytes released in one tight pass.
- ``single-packet`` (HTTP/2, TLS ALPN ``h2`` or ``h2c`` prior knowledge): every request a
  stream on one connection, their final frames (END_STREAM) sent in one write.
- ``none``: today's behaviour (aiohttp, each request sent when its task runs).

Each batch yields a :class:`PhaseDelivery`: the send spread (first to last final byte handed
to the kernel) and, when the target reports ``X-Arrival-Ns``, the arrival spread it observed.
"""

from monitor.engine.sync.delivery import ARRIVAL_HEADER, PhaseDelivery, SyncMode, spread_s

__all__ = ["ARRIVAL_HEADER", "PhaseDelivery", "SyncMode", "spread_s"]
