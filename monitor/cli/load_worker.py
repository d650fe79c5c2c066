"""One worker process of ``soakmon load --processes N`` (``python -m monitor.cli.load_worker``).

It runs its share of the load (its VUs or its part of the arrival rate) and writes JSON lines
to stdout: ``progress`` snapshots (4 a second), one ``interval`` per second (the exact result
of the requests that finished in it) and, at the end, ``final`` (the exact result and the
executor stats). SIGTERM or SIGINT stop it gracefully, like Ctrl-C stops ``soakmon load``: no
new iterations, running ones get the graceful stop, and ``final`` is still written.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from typing import Any

from monitor.engine import (
    ConcurrentTester,
    ConnectionMode,
    ConstantArrivalRate,
    ConstantVUs,
    Executor,
    IntervalReport,
    Progress,
    RequestSpec,
    Runner,
)
from monitor.engine.aio import run as run_loop
from monitor.engine.wire import result_to_wire, stats_to_wire
from monitor.engine.workers import emit


def _executor(plan: dict[str, Any]) -> Executor:
    if plan.get("rate") is not None:
        return ConstantArrivalRate(
            float(plan["rate"]), float(plan["duration"]), max_vus=int(plan["max_vus"])
        )
    return ConstantVUs(int(plan["vus"]), float(plan["duration"]))


async def run_worker(plan: dict[str, Any]) -> None:
    """Run one worker's share of the load described by ``plan`` (see load_workers)."""
    tester = ConcurrentTester(
        plan["target"],
        timeout=float(plan["timeout"]),
        mode=ConnectionMode.parse(plan["mode"]),
        fast_path=bool(plan["fast_path"]),
        h2c=bool(plan["h2c"]),
        ca_file=plan.get("ca_file"),
    )
    spec = RequestSpec(
        plan["method"], plan["path"], json=plan.get("body"), headers=dict(plan["headers"])
    )

    def on_progress(p: Progress) -> None:
        emit(
            "progress",
            {
                "elapsed": p.elapsed,
                "requests": p.requests,
                "errors": p.errors,
                "iterations": p.iterations,
                "dropped": p.dropped,
                "active_vus": p.active_vus,
            },
        )

    def on_interval(report: IntervalReport) -> None:
        body = {"start_s": report.start_s, "end_s": report.end_s}
        emit("interval", body | {"result": result_to_wire(report.result)})

    runner = Runner(
        tester.client,
        _executor(plan),
        spec,
        sample_limit=0,
        interval=float(plan.get("interval_s", 1.0)),
        on_interval=on_interval,
        interval_origin=plan.get("interval_origin"),
        on_progress=on_progress,
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, runner.stop)
    emit("ready", {})
    async with tester:
        outcome = await runner.run()
    emit(
        "final",
        {
            "result": result_to_wire(outcome.result),
            "stats": stats_to_wire(outcome.stats),
            "fast_path": runner.uses_fast_path,
        },
    )


def main() -> None:
    plan = json.loads(sys.argv[1])
    run_loop(run_worker(plan), use_uvloop=bool(plan.get("uvloop", True)))


if __name__ == "__main__":
    main()
