"""``ConcurrentTester``: fire requests truly together and aggregate what happened."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any, Self

from aiohttp.abc import AbstractCookieJar

from monitor.engine.client import HttpClient, PreparedRequest
from monitor.engine.configerror import EngineConfigError
from monitor.engine.executors import Executor, Runner, RunOutcome
from monitor.engine.fastusers import FastUsers, fast_path_refusal
from monitor.engine.hooks import RequestHooks
from monitor.engine.result import ConcurrentResult, SuccessRule
from monitor.engine.sessions import ConnectionMode
from monitor.engine.spec import RequestRecord, RequestSpec
from monitor.engine.sync.delivery import PhaseDelivery, SyncMode, unsynchronised
from monitor.engine.sync.sender import SyncSender
from monitor.engine.sync.written import WriteStamps, traced

_SCENARIO_KEYS = frozenset({"method", "path", "json", "headers", "repeat", "name", "timeout"})


def scenario_specs(scenario: Mapping[str, Any], index: int) -> list[RequestSpec]:
    """The requests of one ``run_concurrent_scenarios`` mapping (validated)."""
    unknown = set(scenario) - _SCENARIO_KEYS
    if unknown:
        raise EngineConfigError(
            f"scenario #{index}: unknown key(s) {sorted(unknown)}; "
            f"allowed: {sorted(_SCENARIO_KEYS)}"
        )
    for key in ("method", "path"):
        if not isinstance(scenario.get(key), str):
            raise EngineConfigError(f"scenario #{index}: {key!r} is required and must be a string")
    repeat = scenario.get("repeat", 1)
    if not isinstance(repeat, int) or isinstance(repeat, bool) or repeat < 0:
        raise EngineConfigError(f"scenario #{index}: 'repeat' must be an integer >= 0")
    spec = RequestSpec(
        method=scenario["method"],
        path=scenario["path"],
        json=scenario.get("json"),
        headers=scenario.get("headers"),
        name=scenario.get("name"),
        timeout=scenario.get("timeout"),
    )
    return [spec] * repeat


class ConcurrentTester:
    """Sends requests to ``base_url``; all requests of one call are in flight together.

    Sessions are created first, then every request waits on one ``asyncio.Barrier`` and all
    are released at once (``TaskGroup``). Transport failures are recorded, never raised.
    Connections are opened after the barrier (aiohttp has no public pre-connect), so "together"
    means within one event-loop pass plus the TCP handshake in PER_REQUEST mode.
    Modes: PER_REQUEST (fresh session per request), PER_USER (the i-th request of every call
    uses virtual user i's keep-alive session and cookies; :meth:`send` is user 0), SHARED (one
    pooled session, no cookies). Use as ``async with ConcurrentTester(url) as tester:`` or call
    :meth:`aclose`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        mode: ConnectionMode | str = ConnectionMode.PER_REQUEST,
        keep_body: bool = False,
        hooks: RequestHooks | None = None,
        headers: Mapping[str, str] | None = None,
        is_success: SuccessRule | None = None,
        pool_limit: int = 0,
        fast_path: bool = False,
        sync: SyncMode | str = SyncMode.NONE,
        h2c: bool = False,
        ca_file: str | None = None,
        verify_tls: bool = True,
    ) -> None:
        self.client = HttpClient(
            base_url,
            timeout=timeout,
            mode=mode,
            keep_body=keep_body,
            hooks=hooks,
            headers=headers,
            pool_limit=pool_limit,
            fast_path=fast_path,
            ca_file=ca_file,
            verify_tls=verify_tls,
        )
        self.is_success = is_success
        self.sync = SyncMode.parse(sync)
        """How barrier batches are delivered by default (see :mod:`monitor.engine.sync`)."""
        self.h2c = h2c
        """The target speaks HTTP/2 in clear text (prior knowledge): ``auto`` picks
        single-packet for it."""
        self._senders: dict[SyncMode, SyncSender] = {}
        self._fast: FastUsers | None = None

    @property
    def base_url(self) -> str:
        """The target base URL."""
        return str(self.client.base_url)

    @property
    def mode(self) -> ConnectionMode:
        """The connection mode."""
        return self.client.mode

    @property
    def hooks(self) -> RequestHooks:
        """The request hooks (add listeners here)."""
        return self.client.hooks

    async def send(self, spec: RequestSpec, user: int | None = None) -> RequestRecord:
        """One request (e.g. a setup step); never raises transport errors.

        ``user``: as virtual user ``user`` of a load: in PER_USER mode its own session and
        cookies (without ``user``, user 0's), and with ``fast_path=True`` its own keep-alive
        connection on the fast path when the request qualifies (:meth:`fast_path_refusal`;
        its cookies then live in the jar of its aiohttp session)."""
        if user is None:
            return await self.client.send(spec)
        req = self.client.prepare(spec)
        if fast_path_refusal(self.client, [req]) is not None:
            return await self.client.send(req, user)
        if self._fast is None:
            self._fast = FastUsers(self.client, cache_payloads=False)  # prepared per call
        return await self._fast.execute(req, user, None)

    def fast_path_refusal(self, specs: Sequence[RequestSpec]) -> str | None:
        """Why :meth:`send` with a ``user`` sends ``specs`` through aiohttp (None: the fast
        path)."""
        return fast_path_refusal(self.client, [self.client.prepare(s) for s in specs])

    async def fire(self, specs: Sequence[RequestSpec]) -> list[RequestRecord]:
        """Send ``specs`` behind one barrier; records in input order."""
        records, _ = await self.fire_batch(specs)
        return records

    async def fire_batch(
        self, specs: Sequence[RequestSpec], sync: SyncMode | str | None = None
    ) -> tuple[list[RequestRecord], PhaseDelivery | None]:
        """Send ``specs`` behind one barrier, delivered per ``sync`` (default: the tester's);
        records in input order, and how the batch was delivered (``None`` for no request)."""
        client = self.client
        prepared = [client.prepare(spec) for spec in specs]
        if not prepared:
            return [], None
        mode = self.sync if sync is None else SyncMode.parse(sync)
        if mode is SyncMode.NONE:
            return await self._fire_aiohttp(prepared)
        if len(prepared) == 1:  # nothing to synchronise: sent as is, without a settle pause
            records, delivery = await self._fire_aiohttp(prepared)
            return records, replace(delivery, note="one request: nothing to synchronise")
        sender = self._senders.get(mode)
        if sender is None:
            sender = self._senders[mode] = SyncSender(client, mode, h2c=self.h2c)
        jars: list[AbstractCookieJar | None] = [None] * len(prepared)
        if client.mode is ConnectionMode.PER_USER:  # the users' cookies, shared with aiohttp
            jars = [(await client.sessions.acquire(i)).cookie_jar for i in range(len(prepared))]
        return await sender.fire(prepared, jars)

    async def _fire_aiohttp(
        self, prepared: list[PreparedRequest]
    ) -> tuple[list[RequestRecord], PhaseDelivery]:
        client = self.client
        pool = client.sessions
        sessions = []
        try:
            for user in range(len(prepared)):
                sessions.append(await pool.acquire(user))
            barrier = asyncio.Barrier(len(prepared))
            stamps = [WriteStamps() for _ in prepared]

            async def one(req: PreparedRequest, user: int) -> RequestRecord:
                await barrier.wait()
                return await client.execute(req, sessions[user], trace_ctx=stamps[user])

            with traced(sessions):
                async with asyncio.TaskGroup() as group:
                    tasks = [group.create_task(one(req, i)) for i, req in enumerate(prepared)]
            records = [task.result() for task in tasks]
        finally:
            for session in sessions:
                await pool.release(session)
        written = [s.last_ns for s in stamps if s.last_ns is not None]
        return records, unsynchronised(records, client.mode, written)

    def _result(self, records: Sequence[RequestRecord]) -> ConcurrentResult:
        return ConcurrentResult(records, is_success=self.is_success)

    async def run_batch(
        self, specs: Sequence[RequestSpec], sync: SyncMode | str | None = None
    ) -> ConcurrentResult:
        """Heterogeneous requests fired together behind one barrier; records in input order;
        ``result.delivery`` says how they were delivered (``sync``: default the tester's)."""
        records, delivery = await self.fire_batch(specs, sync)
        result = self._result(records)
        result.delivery = delivery
        return result

    async def run_concurrent_requests(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        repeat: int = 1,
        name: str | None = None,
        request_timeout: float | None = None,
    ) -> ConcurrentResult:
        """The same request ``repeat`` times, all in flight together."""
        scenario = {"method": method, "path": path, "json": json, "headers": headers}
        scenario |= {"repeat": repeat, "name": name, "timeout": request_timeout}
        return await self.run_batch(scenario_specs(scenario, 0))

    async def run_concurrent_scenarios(
        self, scenarios: Sequence[Mapping[str, Any]]
    ) -> list[ConcurrentResult]:
        """Every scenario in parallel, all their requests in flight together; one result per
        scenario, in the order given. Each mapping: ``method``, ``path``, optional ``json``,
        ``headers``, ``repeat`` (default 1), ``name``, ``timeout``."""
        groups = [scenario_specs(scenario, i) for i, scenario in enumerate(scenarios)]
        records = await self.fire([spec for group in groups for spec in group])
        results, offset = [], 0
        for group in groups:
            results.append(self._result(records[offset : offset + len(group)]))
            offset += len(group)
        return results

    async def run_executor(
        self,
        executor: Executor,
        specs: RequestSpec | Sequence[RequestSpec],
        **runner_options: Any,
    ) -> RunOutcome:
        """Apply an executor schedule (see :class:`~monitor.engine.executors.Runner` for the
        options: ``on_progress``, ``on_interval``, ``interval``, ``sample_limit``, ...)."""
        runner = Runner(self.client, executor, specs, is_success=self.is_success, **runner_options)
        return await runner.run()

    async def aclose(self) -> None:
        """Close all sessions and synchronised connections."""
        senders, self._senders = self._senders, {}
        for sender in senders.values():
            await sender.aclose()
        fast, self._fast = self._fast, None
        if fast is not None:
            fast.close()
        await self.client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
