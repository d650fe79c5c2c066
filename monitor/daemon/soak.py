"""Continuous soak load beside the checks, fed into metrics and rolling windows.

A soak is an engine executor that never ends by itself (``constant-vus`` for the closed model,
``constant-arrival-rate`` for the open one); the daemon stops it on shutdown. Every finished
interval is published as a ``SoakInterval`` event; the target's rolling request window (SLOs,
burst baselines), the soak's throughput series (stability analysis) and the status API
subscribe. Requests are counted in Prometheus through an engine hook, with the request's trace
id as exemplar.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from monitor.daemon.config.targets import Target
from monitor.daemon.config.traffic import Request, Soak
from monitor.engine import ConnectionMode, HttpClient, RequestHooks, RequestRecord, RequestSpec
from monitor.engine.executors import ConstantArrivalRate, ConstantVUs, IntervalReport, Runner
from monitor.engine.fastusers import fast_path_refusal
from monitor.engine.tracing import trace_id_of
from monitor.engine.workers import grid_slot, on_grid
from monitor.events import EventBus, SoakInterval
from monitor.observe.metrics import MonitorMetrics

log = logging.getLogger(__name__)

CHUNK_S = 3600.0
"""A soak runs as back-to-back executor runs of this length (the open-model schedule is finite)."""


def outcome_label(record: RequestRecord) -> str:
    """A bounded outcome label: ``ok``, ``http_4xx``, ``http_5xx`` or the transport error kind."""
    if record.error is not None:
        return record.error_kind or "other"
    status = record.status or 0
    if status >= 500:
        return "http_5xx"
    if status >= 400:
        return "http_4xx"
    return "ok"


def metrics_listener(
    metrics: MonitorMetrics, suite: str, scenario: str, target: str = ""
) -> Callable[[RequestRecord], None]:
    """An engine ``request_done`` listener exporting each request under these labels."""

    def listener(record: RequestRecord) -> None:
        metrics.observe_request(
            suite=suite,
            scenario=scenario,
            operation=record.name,
            outcome=outcome_label(record),
            seconds=record.duration_ms / 1000.0,
            trace_id=trace_id_of(record.sent_headers),
            target=target,
        )

    return listener


def auth_headers(target: Target) -> dict[str, str] | None:
    """The static credential header of ``target``, read now (a rotated token is picked up)."""
    creds = target.credentials
    if creds is None:
        return None
    token = creds.token()
    if token is None:
        return None
    value = f"{creds.scheme} {token}".strip() if creds.scheme else token
    return {creds.header: value}


def request_spec(req: Request) -> RequestSpec:
    return RequestSpec(req.method, req.path, json=req.json_body, name=req.name)


def build_client(
    target: Target, hooks: RequestHooks, mode: ConnectionMode, *, fast_path: bool = False
) -> HttpClient:
    """An engine client for ``target`` whose credentials are re-read before every request."""
    if target.credentials is not None:
        hooks.add_before_send(lambda _spec: auth_headers(target))
    return HttpClient(
        target.url, timeout=target.timeout, mode=mode, hooks=hooks, fast_path=fast_path,
        ca_file=target.ca_file,
    )  # fmt: skip


def planned_transport(soak: Soak, target: Target) -> str:
    """How a soak of plain requests will be sent (:func:`transport_of`), known before it
    starts: the same decision the runner makes."""
    client = HttpClient(
        target.url, timeout=target.timeout, mode=ConnectionMode.PER_USER,
        fast_path=soak.fast_path, ca_file=target.ca_file,
    )  # fmt: skip
    why = fast_path_refusal(client, [client.prepare(request_spec(r)) for r in soak.requests])
    return "fast path" if why is None else f"aiohttp ({why})"


def transport_of(runner: Runner) -> str:
    """``fast path`` or ``aiohttp (why)``: how a soak's requests are sent."""
    if runner.uses_fast_path:
        return "fast path"
    return f"aiohttp ({runner.fast_path_refusal})"


class SoakLoop:
    """Runs one soak until the daemon stops.

    ``interval_origin`` (a ``time.monotonic()`` reading; a worker process gets its parent's):
    windows close on a grid of ``window`` seconds counted from it, reported in seconds since
    it, so the k-th window of every worker of a soak covers the same span. The grid holds
    across the soak's back-to-back runs: a run's last, partial window is completed by the next
    run's first (one window, never two short ones) or, at the stop, published as it is.
    """

    def __init__(
        self,
        soak: Soak,
        target: Target,
        *,
        bus: EventBus,
        hooks: RequestHooks,
        on_interval: Callable[[IntervalReport], None] | None = None,
        interval_origin: float | None = None,
    ) -> None:
        self.soak = soak
        self.target = target
        self.bus = bus
        self._hooks = hooks
        self._listener = on_interval
        self._origin = interval_origin
        self._carry: IntervalReport | None = None
        self.transport: str | None = None
        """How the requests are sent (:func:`transport_of`), once the soak started."""

    def _executor(self) -> ConstantVUs | ConstantArrivalRate:
        if self.soak.rate is not None:
            return ConstantArrivalRate(
                rate=self.soak.rate, duration=CHUNK_S, max_vus=self.soak.max_vus
            )
        return ConstantVUs(vus=self.soak.vus or 5, duration=CHUNK_S)

    def _on_interval(self, report: IntervalReport) -> None:
        if self._origin is not None:
            window = self.soak.window
            if self._carry is not None:  # the last run's partial window, completed now
                carry, self._carry = self._carry, None
                if grid_slot(carry.start_s, window) == grid_slot(report.start_s, window):
                    carry.result.absorb(report.result)
                    report = IntervalReport(carry.start_s, report.end_s, carry.result)
                else:  # the next run started past an edge: each is a window of its own slot
                    self._publish(carry)
            if not on_grid(report.end_s, window):
                self._carry = report  # a chunk's last window: the next chunk's first ends it
                return
        self._publish(report)

    def _publish(self, report: IntervalReport) -> None:
        result = report.result
        self.bus.publish(
            SoakInterval(
                self.soak.name,
                self.soak.target,
                report.end_s - report.start_s,
                result.total,
                result.error_count,
                result.histogram,
                time.time(),
                time.monotonic(),
                transport=self.transport,
            )
        )
        if self._listener is not None:
            self._listener(report)

    async def run(self, stop: asyncio.Event) -> None:
        """Soak until ``stop`` is set; a crash propagates to the supervisor (which restarts)."""
        client = build_client(
            self.target, self._hooks, ConnectionMode.PER_USER, fast_path=self.soak.fast_path
        )
        specs = [request_spec(r) for r in self.soak.requests]
        try:
            while not stop.is_set():
                await self._chunk(client, specs, stop)
        finally:
            await client.aclose()
            if self._carry is not None:  # the soak's last window: nothing measured is lost
                carry, self._carry = self._carry, None
                self._publish(carry)

    async def _chunk(
        self, client: HttpClient, specs: list[RequestSpec], stop: asyncio.Event
    ) -> None:
        runner = Runner(
            client,
            self._executor(),
            specs,
            sample_limit=0,
            interval=self.soak.window,
            on_interval=self._on_interval,
            interval_origin=self._origin,
            graceful_stop=min(self.target.timeout, 5.0),
        )
        if self.transport is None:
            self.transport = transport_of(runner)
            log.info("soak %s: transport: %s", self.soak.name, self.transport)
        task = asyncio.create_task(runner.run(), name=f"soakmon-soak-{self.soak.name}")
        stopper = asyncio.create_task(stop.wait(), name=f"soakmon-soak-stop-{self.soak.name}")
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
            runner.stop()
            await task
        finally:
            stopper.cancel()
            if not task.done():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            with contextlib.suppress(asyncio.CancelledError):
                await stopper
