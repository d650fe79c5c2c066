"""``X-Arrival-Ns``: when the service saw each request complete, so that a client can tell how
tightly a batch of "simultaneous" requests really arrived (its arrival spread).

The value is ``time.monotonic_ns()`` (CLOCK_MONOTONIC: one clock for every process of the
host) taken when the request's last byte was read: for a request with a body, from the body
stream's end-of-data callback, which runs in the same pass that reads the final byte (aiohttp
starts the handler once the headers are in, so with the final byte held back the callback is
registered before it arrives); for a request without a body, when its handler starts, which
aiohttp schedules as soon as the header block is complete.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web

ARRIVAL_HEADER = "X-Arrival-Ns"

AioHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def arrival_middleware(request: web.Request, handler: AioHandler) -> web.StreamResponse:
    """Stamp every answer with when its request arrived (outermost middleware)."""
    arrived = [time.monotonic_ns()]
    content = request.content
    if request.body_exists and not content.at_eof():

        def body_complete() -> None:
            arrived[0] = time.monotonic_ns()

        content.on_eof(body_complete)
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # redirects and the like, raised past the error layer
        if not exc.headers.get(ARRIVAL_HEADER):
            exc.headers[ARRIVAL_HEADER] = str(arrived[0])
        raise
    if not response.prepared:
        response.headers[ARRIVAL_HEADER] = str(arrived[0])
    return response
