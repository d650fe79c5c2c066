"""A sustained load in worker processes (``load: {processes: N|auto}`` of a phase).

The phase's users are split exactly across the workers (contiguous, remainders to the first;
never more workers than users), as ``soakmon load --processes`` splits VUs
(:mod:`monitor.engine.workers`). Each worker (:mod:`monitor.suites.run.phase_worker`) gets the
profile, the run's variables, parameters and state and its users' sessions, runs them until
the phase's deadline and sends back every call, the exact aggregate of its requests
(counts, status codes, errors and HdrHistogram add exactly) and a sample of records. The phase
then holds every call in one history, so the checks judge the whole load, and the run's
``request_done`` listeners (the daemon's request metrics) see every worker's requests, with
their trace ids (exemplars). When the run's requests are traced (a :class:`RequestTracer` on
its hooks: the daemon), each worker sets up a tracer provider with the same exporter, its
request spans are children of the load's span, and it exports them before it reports. The
session values a worker's users changed (a sign-in's token, a cookie) are set on the users'
sessions here once the load is over, so later steps and phases act with them, as they would
after a load in one process. A worker that dies (or the scenario's timeout) ends the phase
with an error naming it; what the others did is kept; nothing is passed over.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from monitor.engine import ConnectionMode
from monitor.engine.wire import absorb_wire
from monitor.engine.workers import Worker, drive, split_exact
from monitor.suites.errors import ExpressionError, PhaseWorkerDied
from monitor.suites.run.call import Session
from monitor.suites.run.phase import RECORD_SAMPLE, PhaseOutcome
from monitor.suites.run.phase_worker import call_from_wire, record_from_wire
from monitor.suites.run.scenario_run import ScenarioRun
from monitor.suites.suite.models import PhaseOp

WORKER_MODULE = "monitor.suites.run.phase_worker"


def _plan(run: ScenarioRun, where: str, active: Sequence[tuple[int, PhaseOp]], *,
          fast: bool) -> dict[str, Any]:  # fmt: skip
    client = run.client
    tester = client.tester
    if tester.mode is ConnectionMode.PER_USER:
        raise ExpressionError(
            f"{where}.load.processes: per-user connections share user 0's aiohttp session and "
            "its cookies with the setup, which a worker process does not have: run this load "
            "in one process, or with shared connections"
        )
    plan = {
        "parent": os.getpid(),
        "target": tester.base_url,
        "timeout": tester.client.timeout,
        "mode": tester.mode.value,
        "ca_file": tester.client.ca_file,
        "fast": fast,
        "profile": client.profile.model_dump(mode="json", by_alias=True),
        "client_variables": client.variables,
        "params": dict(run.params),
        "variables": dict(run.variables),
        "state": run.state,
        "seed": run.rng.random(),
        "prefix": run.prefix,
        "operations": sorted(run.operations) if run.operations is not None else None,
        "ops": [(i, op.model_dump(mode="json")) for i, op in active],
        "where": where,
        "records": tester.hooks.has_request_done,
        # traced here: the workers trace their requests alike, as children of the load's span
        "tracing": tester.hooks.tracer.worker_plan() if tester.hooks.tracer else None,
    }
    try:
        json.dumps(plan)
    except (TypeError, ValueError) as exc:
        raise ExpressionError(
            f"{where}.load.processes: the scenario's state cannot go to a worker process "
            f"({exc}); run this load in one process"
        ) from None
    return plan


async def run_in_workers(
    run: ScenarioRun,
    outcome: PhaseOutcome,
    *,
    where: str,
    active: Sequence[tuple[int, PhaseOp]],
    members: Sequence[Session | None],
    duration: float,
    processes: int,
    fast: bool,
) -> tuple[float, float]:
    """Run the load's users in ``processes`` workers for ``duration`` seconds from when every
    worker is ready (started and set up); their calls and requests go into ``outcome`` as if
    the users had run here. The start and the end (``time.monotonic``, the same clock in every
    process): the end is the last worker's load end, not when it had exported its spans."""
    base = _plan(run, where, active, fast=fast)
    shares, first = [], 0
    for size in split_exact(len(members), min(processes, len(members))):
        part = [(vu, None if m is None else {"name": m.name, "values": m.values})
                for vu, m in enumerate(members[first:first + size], first)]  # fmt: skip
        shares.append(part)
        first += size
    workers = [Worker(i, {"users": len(part)}, keep_intervals=False) for i, part in
               enumerate(shares)]  # fmt: skip
    ready: set[int] = set()
    go = asyncio.Event()
    started = 0.0

    def on_message(w: Worker, msg: dict[str, Any]) -> None:
        nonlocal started
        if "ready" not in msg:
            return
        ready.add(w.index)
        if len(ready) == len(workers):  # every worker set up: the load starts now, together
            started = time.monotonic()
            line = (json.dumps({"deadline": started + duration}) + "\n").encode()
            for each in workers:
                if each.proc is not None and each.proc.stdin is not None:
                    each.proc.stdin.write(line)
            go.set()

    # the plans go through files of a private directory (0700), not the command line: they
    # hold the users' tokens (which `ps` would show any local user) and may be larger than
    # the kernel takes as one argument (128 KiB)
    out = Path(tempfile.mkdtemp(prefix="soakmon-phase-"))
    args = []
    for w in workers:
        path = out / f"plan-{w.index}.json"
        path.write_text(
            json.dumps(
                base
                | {
                    "members": shares[w.index],
                    "worker": w.index,
                    "out": str(out / f"worker-{w.index}.json"),
                }
            )
        )
        args.append({"parent": os.getpid(), "plan": str(path)})
    tasks = [
        asyncio.create_task(drive(w, WORKER_MODULE, args[w.index], on_message, stdin=True))
        for w in workers
    ]  # fmt: skip
    gate = asyncio.create_task(go.wait())
    try:
        done, _ = await asyncio.wait([*tasks, gate], return_when=asyncio.FIRST_COMPLETED)
        if gate not in done:  # a worker ended before the start: stop the others
            for w in workers:
                w.signal(signal.SIGKILL)
        await asyncio.gather(*tasks)
    finally:
        gate.cancel()
        for task in tasks:  # cancelled (the scenario's timeout): drive kills its worker
            task.cancel()
        await asyncio.gather(*tasks, gate, return_exceptions=True)
    try:
        finals = {w.index: _read(w) for w in workers if w.final is not None}
    finally:
        shutil.rmtree(out, ignore_errors=True)
    dead = [w for w in workers if w.index not in finals]
    hooks = run.client.tester.hooks
    for final in finals.values():
        _absorb(outcome, final)
        for vu, changed in final["sessions"]:  # a sign-in in the load: later steps see it
            member = members[vu]
            if member is not None:
                member.values.update(changed)
        for doc in final["done"]:  # the request metrics see every worker's requests
            hooks.request_done(record_from_wire(doc))
    # in one process calls are kept in the order they complete: the same order across workers
    outcome.calls.sort(key=lambda c: c.invoked_at + c.latency_ms / 1000.0)
    if hooks.tracer is not None:
        hooks.tracer.worker_spans(where, [f["spans"] for f in finals.values() if f.get("spans")])
    if dead:
        raise PhaseWorkerDied(f"{where}.load: " + "; ".join(w.describe() for w in dead))
    ends = [float(f["ended"]) for f in finals.values() if f.get("ended")]
    return started, max(ends) if ends else time.monotonic()


def _read(w: Worker) -> dict[str, Any]:
    assert w.final is not None
    doc: dict[str, Any] = json.loads(Path(w.final["path"]).read_text())
    return doc


def _absorb(outcome: PhaseOutcome, final: dict[str, Any]) -> None:
    outcome.calls.extend(call_from_wire(c) for c in final["calls"])
    absorb_wire(outcome.requests, final["requests"])
    room = RECORD_SAMPLE - len(outcome.requests.records)
    outcome.requests.records.extend(record_from_wire(r) for r in final["records"][:room])
    outcome.server_errors.extend(record_from_wire(r) for r in final["server_errors"])
