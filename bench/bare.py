"""The shared command line of the ``bare_*`` diagnostic generators."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

LoopRequests = Callable[[str, int, float], Coroutine[Any, Any, dict[str, Any]]]


def run_cli(prog: str, loop_requests: LoopRequests, argv: list[str] | None = None) -> None:
    """``--url --vus --duration [--no-uvloop]``: run ``loop_requests`` and print its JSON."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--url", required=True)
    parser.add_argument("--vus", type=int, default=64)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--no-uvloop", action="store_true")
    args = parser.parse_args(argv)
    factory = None
    if not args.no_uvloop:
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        result = runner.run(loop_requests(args.url, args.vus, args.duration))
    print(json.dumps(result))
