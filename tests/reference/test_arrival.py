"""``X-Arrival-Ns``: the reference target stamps each answer with when the request's last byte
came (a body's end), or its handler started (no body), on CLOCK_MONOTONIC."""

from __future__ import annotations

import asyncio
import time

from yarl import URL


async def _exchange(url: str, head: bytes, body: bytes, hold_s: float) -> tuple[int, bytes]:
    """Send ``head + body`` but its last byte, wait ``hold_s``, send it; ``(sent_ns, answer)``."""
    target = URL(url)
    reader, writer = await asyncio.open_connection(target.host, target.port)
    data = head + body
    writer.write(data[:-1])
    await writer.drain()
    await asyncio.sleep(hold_s)
    sent_ns = time.monotonic_ns()
    writer.write(data[-1:])
    answer = await reader.readuntil(b"\r\n\r\n")
    writer.close()
    return sent_ns, answer


def _arrival(answer: bytes) -> int:
    for line in answer.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.lower() == b"x-arrival-ns":
            return int(value)
    raise AssertionError(f"no X-Arrival-Ns in {answer!r}")


async def test_arrival_is_when_the_last_body_byte_came(reference_url: str) -> None:
    body = b'{"username": "arrival"}'
    head = (
        b"POST /auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    sent_ns, answer = await _exchange(reference_url, head, body, hold_s=0.2)
    assert answer.startswith(b"HTTP/1.1 201")
    arrival = _arrival(answer)
    # the handler started 200 ms earlier (headers in), but the stamp is the final byte's
    assert sent_ns <= arrival < sent_ns + 100_000_000


async def test_bodyless_and_error_answers_carry_it_too(reference_url: str) -> None:
    head = b"GET /points/my-points HTTP/1.1\r\nHost: x\r\n\r\n"
    sent_ns, answer = await _exchange(reference_url, head, b"", hold_s=0.0)
    assert answer.startswith(b"HTTP/1.1 401")
    assert sent_ns <= _arrival(answer) < sent_ns + 1_000_000_000
