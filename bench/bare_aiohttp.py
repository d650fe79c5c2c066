"""The ceiling of the HTTP library itself: N tasks looping on one shared aiohttp session.

``python -m bench.bare_aiohttp --url U --vus N --duration S [--no-uvloop]`` prints one JSON line
``{"requests": n, "errors": n, "duration_s": s}``. No records, no histogram, no hooks: the gap
between this row and ``soakmon load`` is the engine's own cost, the gap between this row and
Locust is aiohttp's.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp

from bench.bare import run_cli


async def loop_requests(url: str, vus: int, duration_s: float) -> dict[str, float]:
    counts = {"requests": 0, "errors": 0}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = asyncio.get_running_loop().time() + duration_s

        async def user() -> None:
            loop = asyncio.get_running_loop()
            while loop.time() < deadline:
                try:
                    async with session.get(url) as resp:
                        await resp.read()
                        counts["requests"] += 1
                        if resp.status >= 400:
                            counts["errors"] += 1
                except aiohttp.ClientError:
                    counts["requests"] += 1
                    counts["errors"] += 1

        started = time.monotonic()
        await asyncio.gather(*(user() for _ in range(vus)))
        elapsed = time.monotonic() - started
    return {**counts, "duration_s": elapsed}


def main(argv: list[str] | None = None) -> None:
    run_cli("python -m bench.bare_aiohttp", loop_requests, argv)


if __name__ == "__main__":
    main()
