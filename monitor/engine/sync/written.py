"""When aiohttp wrote each request of an unsynchronised batch (``sync: none``).

aiohttp has no hook at the moment bytes leave, but its client tracing signals run just before
each write: ``on_request_headers_sent`` right before a request without a body is written
whole, ``on_request_chunk_sent`` right before each body chunk (the first one carries the
headers). The last such signal of a request is stamped (``perf_counter_ns``) a few
microseconds before its last bytes are handed to the transport, which passes them to the
kernel at once when nothing is queued: the spread of those stamps is the batch's send spread,
as near to "first to last final byte written" as aiohttp allows. A request that never reached
its write (connect refused) has no stamp.

Tracing costs aiohttp ~15 µs of CPU a request, so the trace is put on the batch's sessions for
the batch only (:func:`traced`), never on a sustained load's requests.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import SimpleNamespace

import aiohttp


class WriteStamps:
    """The stamps of one request; pass as ``trace_request_ctx``."""

    __slots__ = ("last_ns",)

    def __init__(self) -> None:
        self.last_ns: int | None = None
        """``perf_counter_ns`` just before the request's last write, or ``None``."""


async def _stamp(_: aiohttp.ClientSession, ctx: SimpleNamespace, __: object) -> None:
    stamps = ctx.trace_request_ctx
    if isinstance(stamps, WriteStamps):  # other requests on a shared session: not ours
        stamps.last_ns = time.perf_counter_ns()


def _config() -> aiohttp.TraceConfig:
    config = aiohttp.TraceConfig()
    config.on_request_headers_sent.append(_stamp)
    config.on_request_chunk_sent.append(_stamp)
    config.freeze()
    return config


_TRACE = _config()


@contextmanager
def traced(sessions: Sequence[aiohttp.ClientSession]) -> Iterator[None]:
    """Trace the writes of requests sent through ``sessions`` while the block runs."""
    added = []
    for session in {id(s): s for s in sessions}.values():
        configs = session.trace_configs  # the session's own list, read at every request
        if _TRACE not in configs:
            configs.append(_TRACE)
            added.append(configs)
    try:
        yield
    finally:
        for configs in added:
            configs.remove(_TRACE)
