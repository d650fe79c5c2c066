"""One worker process of a sustained load with ``processes:`` (``python -m
monitor.suites.run.phase_worker '{"parent": PID, "plan": PATH}'``: the plan is a file of the
parent's private directory, never on the command line).

It rebuilds what its virtual users need from the plan (the profile, the run's variables,
parameters and state, its users' sessions), says ``ready``, runs them until the deadline the
parent writes on stdin once every worker is ready, exactly as the phase runs them in one
process (:func:`~monitor.suites.run.phase.loop_user`), writes the file ``out`` of the plan and
says ``final`` with its path. The file holds every call (:func:`call_to_wire`), the exact
aggregate of its requests (:mod:`monitor.engine.wire`), a sample of their records, the
session values its users' calls changed (a sign-in's new token, a cookie) and, when the parent
has request listeners (the daemon's metrics), every record's measured fields and trace id.
When the parent traces its requests, the worker traces its own to the same exporter as
children of the parent's load span (``tracing`` in the plan), exports them before it says
``final`` (within a bound: a dead collector costs spans, not time) and reports what became of
them (``spans``) and when its load ended (``ended``: the export is not part of the load).
It stops with its parent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from monitor.engine import ConcurrentTester, RequestHooks, RequestRecord
from monitor.engine.aio import run as run_loop
from monitor.engine.tracing import WorkerTracing
from monitor.engine.wire import result_to_wire
from monitor.engine.workers import die_with_parent, emit
from monitor.suites.profile.models import Profile
from monitor.suites.results.history import Outcome
from monitor.suites.run.call import Call, Session
from monitor.suites.run.client import ProfileClient
from monitor.suites.run.phase import PhaseOutcome, loop_user
from monitor.suites.run.scenario_run import ScenarioRun
from monitor.suites.suite.models import PhaseOp

_CALL_FIELDS = ("kind", "process", "args", "code", "value", "status", "invoked_at",
                "completed_at", "latency_ms", "error", "error_kind", "detail", "body",
                "server_error")  # fmt: skip
_RECORD_FIELDS = ("name", "method", "url", "started_at", "start", "intended_start",
                  "duration_ms", "status", "bytes_received", "error", "error_kind",
                  "sent")  # fmt: skip


def call_to_wire(call: Call) -> dict[str, Any]:
    """A call without its records (they are in the aggregate), as JSON types."""
    return {f: getattr(call, f) for f in _CALL_FIELDS} | {"outcome": call.outcome.value}


def call_from_wire(doc: dict[str, Any]) -> Call:
    return Call(outcome=Outcome(doc["outcome"]), **{f: doc[f] for f in _CALL_FIELDS})


def record_to_wire(record: RequestRecord) -> dict[str, Any]:
    """A record's measured fields (no body or headers but its ``traceparent``: the request
    metrics' exemplar)."""
    full = asdict(record)
    doc = {f: full[f] for f in _RECORD_FIELDS}
    parent = (record.sent_headers or {}).get("traceparent")
    return doc | {"traceparent": parent} if parent else doc


def record_from_wire(doc: dict[str, Any]) -> RequestRecord:
    fields = dict(doc)
    parent = fields.pop("traceparent", None)
    return RequestRecord(**fields, sent_headers={"traceparent": parent} if parent else None)


async def run_worker(plan: dict[str, Any]) -> dict[str, Any]:
    """Run this worker's users until the deadline; what goes back to the parent."""
    done: list[RequestRecord] = []  # for the parent's request_done listeners (metrics)
    hooks = RequestHooks()
    tracing = None
    if plan.get("tracing") is not None:  # the parent traces: spans to its exporter
        tracing = WorkerTracing(plan["tracing"], hooks, worker=int(plan["worker"]))
    if plan["records"]:
        hooks.add_request_done(done.append)
    tester = ConcurrentTester(
        plan["target"], timeout=float(plan["timeout"]), keep_body=True, mode=plan["mode"],
        fast_path=bool(plan["fast"]), ca_file=plan.get("ca_file"), hooks=hooks,
    )  # fmt: skip
    async with tester:
        client = ProfileClient(Profile.model_validate(plan["profile"]), tester,
                               plan["client_variables"])  # fmt: skip
        operations = plan["operations"]
        run = ScenarioRun(
            client=client, params=plan["params"], variables=plan["variables"],
            rng=random.Random(plan["seed"]), prefix=plan["prefix"],
            operations=frozenset(operations) if operations is not None else None,
            state=plan["state"],
        )  # fmt: skip
        active = [(int(i), PhaseOp.model_validate(op)) for i, op in plan["ops"]]
        outcome = PhaseOutcome(None)
        emit("ready", {"pid": os.getpid()})
        go = await asyncio.to_thread(sys.stdin.readline)  # the start, once every worker is ready
        if not go:
            raise SystemExit("the parent closed the start line: not started")
        deadline = float(json.loads(go)["deadline"])
        users, sessions = [], {}
        for vu, member in plan["members"]:
            # its own dict: what the parent sent stays as it was, to tell what changed
            session = None if member is None else Session(member["name"], dict(member["values"]))
            if session is not None:
                sessions[int(vu)] = session
            users.append(loop_user(
                run, outcome, where=plan["where"], active=active, vu=int(vu), session=session,
                user=int(vu) if plan["fast"] else None, deadline=deadline,
            ))  # fmt: skip
        with tracing.under_parent() if tracing is not None else contextlib.nullcontext():
            await asyncio.gather(*users)
        ended = time.monotonic()  # the load's end here: the span export below is not measured
    spans = None
    if tracing is not None:  # spans exported (within a bound) before the parent hears "done"
        spans = await asyncio.to_thread(tracing.flush)
    return {
        "ended": ended,
        "spans": spans,
        "calls": [call_to_wire(c) for c in outcome.calls],
        "requests": result_to_wire(outcome.requests),
        "records": [record_to_wire(r) for r in outcome.requests.records],
        "server_errors": [record_to_wire(r) for r in outcome.server_errors],
        "done": [record_to_wire(r) for r in done],
        "sessions": session_changes(plan["members"], sessions),
    }


def session_changes(members: list[Any], sessions: dict[int, Session]) -> list[Any]:
    """``[vu, {key: value}]`` for each user whose session the load changed (a sign-in saved a
    new token or cookie): the values that differ from those the parent sent."""
    changes = []
    for vu, member in members:
        session = sessions.get(int(vu))
        if session is None:
            continue
        before = member["values"]
        changed = {k: v for k, v in session.values.items() if k not in before or before[k] != v}
        if changed:
            changes.append([int(vu), changed])
    return changes


def main() -> None:
    args = json.loads(sys.argv[1])  # the parent's pid and the path of the plan
    die_with_parent(int(args["parent"]))
    plan = json.loads(Path(args["plan"]).read_text())
    final = run_loop(run_worker(plan), use_uvloop=True)
    # the calls (many MiB for a long load) go through a file rather than be held as one line
    # in the parent's memory while it is read (a long line itself is read whole: read_line)
    path = Path(plan["out"])
    path.write_text(json.dumps(final, separators=(",", ":")))
    emit("final", {"path": str(path)})


if __name__ == "__main__":
    main()
