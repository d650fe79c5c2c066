"""The concurrent phase: operations fired together (one engine barrier batch), readers polling
while they run, or a sustained load of virtual users looping over the operations."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from monitor.engine import ConcurrentResult, PhaseDelivery, RequestRecord
from monitor.engine.backoff import VuBackoff, connection_failed
from monitor.suites.errors import ExpressionError
from monitor.suites.run.call import Call, Session
from monitor.suites.run.scenario_run import ScenarioRun
from monitor.suites.run.throughput import window_rates
from monitor.suites.suite.models import Load, Phase, PhaseOp, Reader

log = logging.getLogger(__name__)

Planned = tuple[str, Mapping[str, Any], Session | None]


@dataclass(frozen=True, slots=True)
class Throughput:
    """Completion times of a sustained phase, summarised into ``state[key]`` after read-back
    (the statistics import heavy code; doing it after the read-back keeps it out of any memory
    the scenario measures)."""

    key: str
    completed_at: list[float]
    start: float
    duration_s: float
    window_s: float
    transport: str = "aiohttp"

    def summary(self) -> dict[str, Any]:
        rates = window_rates(self.completed_at, self.start, self.duration_s, self.window_s)
        return rates | {"transport": self.transport}


#: Requests kept per phase as a sample for the latency-over-time plot (counts stay exact).
RECORD_SAMPLE = 2000


def _aggregate() -> ConcurrentResult:
    return ConcurrentResult(sample_limit=RECORD_SAMPLE)


@dataclass(slots=True)
class PhaseOutcome:
    """What one phase did: its operations' calls, the readers' calls, how long it took, and the
    aggregate of its requests (exact counts and latency histogram, a bounded record sample)."""

    label: str | None
    calls: list[Call] = field(default_factory=list)
    reads: list[Call] = field(default_factory=list)
    duration_s: float = 0.0
    throughput: Throughput | None = None
    requests: ConcurrentResult = field(default_factory=_aggregate)
    delivery: PhaseDelivery | None = None
    """How the batch was delivered (sync mode, send and arrival spread); ``None`` for a
    sustained load or a phase of sequences."""
    server_errors: list[RequestRecord] = field(default_factory=list)
    """The records whose answers the profile declares server errors (an HTTP 200 with
    ``{"code": 500}``): the latency plot draws them as errors, not as ok answers."""

    def account(self, call: Call) -> Call:
        """Add the call's requests to the aggregate; the returned call no longer holds them."""
        for record in call.records:
            self.requests.add(record)
        if call.server_error and call.records:
            self.server_errors.append(call.records[-1])
        return replace(call, records=())


def plan(run: ScenarioRun, ops: Sequence[PhaseOp], where: str) -> list[Planned]:
    """Expand operations x members x count into concrete calls (templates rendered)."""
    planned: list[Planned] = []
    for i, op in enumerate(ops):
        if op.optional and not run.provides(op.op):
            continue
        count = run.render_int(op.count, f"{where}.ops[{i}].count")
        creates = run.client.creates_session(op.op)
        for session in run.members(op.user):
            for index in range(count):
                args = run.render(op.args, session, index)
                # a sign-up raced by an existing user answers into a copy of her session
                acting = (
                    Session(session.name, dict(session.values)) if creates and session else session
                )
                planned.append((op.op, args, acting))
    return planned


async def _reader(
    run: ScenarioRun, reader: Reader, stop: asyncio.Event, first: asyncio.Event, out: list[Call]
) -> None:
    try:
        session = run.members(reader.user)[0]
        args = run.render(reader.args, session)
    except BaseException:
        first.set()
        raise
    pause = reader.interval_ms / 1000.0
    try:
        await _poll(
            run, reader, session=session, args=args, pause=pause, stop=stop, first=first, out=out
        )
    finally:
        first.set()


async def _poll(
    run: ScenarioRun,
    reader: Reader,
    *,
    session: Session | None,
    args: Mapping[str, Any],
    pause: float,
    stop: asyncio.Event,
    first: asyncio.Event,
    out: list[Call],
) -> None:
    for _ in range(reader.max_reads):
        out.append(await run.client.call(reader.op, args, session))
        first.set()
        if stop.is_set():
            return
        try:
            await asyncio.wait_for(stop.wait(), pause)
        except TimeoutError:
            continue
        else:
            out.append(await run.client.call(reader.op, args, session))  # one read after the end
            return


async def _with_readers(
    run: ScenarioRun,
    readers: Sequence[Reader],
    outcome: PhaseOutcome,
    body: Coroutine[Any, Any, None],
) -> None:
    stop = asyncio.Event()
    started = [asyncio.Event() for _ in readers]
    reads: list[list[Call]] = [[] for _ in readers]
    tasks = [
        asyncio.create_task(_reader(run, r, stop, started[i], reads[i]), name=f"reader-{i}")
        for i, r in enumerate(readers)
    ]
    try:
        for event in started:  # every reader has a before-state read
            await event.wait()
    except BaseException:
        body.close()
        raise
    try:
        await body
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    for reader, calls in zip(readers, reads, strict=True):
        outcome.reads.extend(outcome.account(c) for c in calls)
        if reader.save:
            run.state[reader.save] = [c.value for c in calls if c.ok]


async def _batch(run: ScenarioRun, phase: Phase, where: str, outcome: PhaseOutcome) -> None:
    planned = plan(run, phase.ops, where)
    if phase.shuffle:
        run.rng.shuffle(planned)
    loop = asyncio.get_running_loop()
    started = loop.time()
    sync = phase.sync or run.sync  # None: the run's --sync (the tester's default)
    calls, outcome.delivery = await run.client.fire_phase(planned, sync)
    outcome.calls = [outcome.account(c) for c in calls]
    outcome.duration_s = loop.time() - started


async def _load(
    run: ScenarioRun, phase: Phase, load: Load, where: str, outcome: PhaseOutcome
) -> None:
    vus = run.render_int(load.vus, f"{where}.load.vus")
    duration = run.render_float(load.duration_s, f"{where}.load.duration_s")
    active = [(i, op) for i, op in enumerate(phase.ops) if run.provides(op.op) or not op.optional]
    if not active:
        raise ExpressionError(f"{where}: the profile provides none of the load's operations")
    groups = {op.user for op in phase.ops}
    members = [m for g in sorted(groups, key=str) for m in run.members(g)][:vus]
    if len(members) < vus:
        raise ExpressionError(
            f"{where}.load.vus is {vus} but the operations' users are only {len(members)} sessions"
        )
    kinds = [op.op for _, op in active]
    transport = run.client.load_transport(kinds) if load.fast_path else "aiohttp (fast_path: false)"
    processes = _processes(load)
    log.info("%s: sustained load of %d users, transport: %s%s", where, vus, transport,
             f", {processes} worker processes" if processes > 1 else "")  # fmt: skip
    fast = transport == "fast path"
    started = time.monotonic()
    deadline = started + duration
    in_workers = processes > 1 and len(members) > 1
    ended = None
    with _load_span(run, where, vus, processes if in_workers else 1, transport):
        if in_workers:
            from monitor.suites.run.phase_workers import run_in_workers

            started, ended = await run_in_workers(
                run, outcome, where=where, active=active, members=members, duration=duration,
                processes=processes, fast=fast,
            )  # fmt: skip
        else:
            await asyncio.gather(
                *(loop_user(run, outcome, where=where, active=active, vu=vu, session=m,
                            user=vu if fast else None, deadline=deadline)
                  for vu, m in enumerate(members))
            )  # fmt: skip
    outcome.duration_s = (time.monotonic() if ended is None else ended) - started
    outcome.throughput = Throughput(
        key=f"throughput_{phase.label}" if phase.label else "throughput",
        completed_at=[c.completed_at for c in outcome.calls if c.completed_at is not None],
        start=started,
        duration_s=outcome.duration_s,
        window_s=load.window_s,
        transport=transport,
    )


@contextlib.contextmanager
def _load_span(
    run: ScenarioRun, where: str, vus: int, processes: int, transport: str
) -> Iterator[None]:
    """With the run's requests traced, a span around the load: its requests' spans (in worker
    processes too) are its children."""
    tracer = run.client.tester.hooks.tracer
    if tracer is None:
        yield
        return
    attributes: dict[str, str | int] = {
        "soakmon.phase": where,
        "soakmon.load.vus": vus,
        "soakmon.load.processes": processes,
        "soakmon.load.transport": transport,
    }
    with tracer.span(f"load {where}", attributes):
        yield


def _processes(load: Load) -> int:
    if load.processes == "auto":
        from monitor.engine.workers import auto_processes

        return auto_processes()
    return int(load.processes)


async def loop_user(
    run: ScenarioRun,
    outcome: PhaseOutcome,
    *,
    where: str,
    active: Sequence[tuple[int, PhaseOp]],
    vu: int,
    session: Session | None,
    user: int | None,
    deadline: float,
) -> None:
    """One virtual user of a sustained load: its operations in a loop until ``deadline``
    (``time.monotonic``); ``user``: its own connection on the fast path (None: aiohttp). A call
    that failed at the connection level is followed by the user's backoff."""
    iteration = 0
    backoff = VuBackoff()  # after connection-level failures (monitor.engine.backoff)
    while time.monotonic() < deadline:
        for i, op in active:
            count = run.render_int(op.count, f"{where}.ops[{i}].count")
            for index in range(count):
                args = run.render(op.args, session, iteration * count + index)
                call = await run.client.call(op.op, args, session, user)
                outcome.calls.append(outcome.account(call))
                failed = any(connection_failed(r.error_kind, r.sent) for r in call.records)
                if (delay := backoff.after(failed)) > 0:
                    await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        iteration += 1


async def run_phase(run: ScenarioRun, phase: Phase, where: str) -> PhaseOutcome:
    """Run one phase (after its idle pause) and return its calls."""
    idle = run.render_float(phase.idle_before_s, f"{where}.idle_before_s")
    if idle:
        await asyncio.sleep(idle)
    outcome = PhaseOutcome(phase.label)
    body = (
        _load(run, phase, phase.load, where, outcome)
        if phase.load is not None
        else _batch(run, phase, where, outcome)
    )
    readers = [r for r in phase.readers if run.provides(r.op) or not r.optional]
    if readers:
        await _with_readers(run, readers, outcome, body)
    else:
        await body
    return outcome
