"""The profile-driven client: speaks a profile's API (operations, sequences, phases of
concurrent operations) through an engine ``ConcurrentTester``; each call becomes a ``Call``."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from typing import Any

from monitor.engine import (
    ConcurrentTester,
    ConnectionMode,
    PhaseDelivery,
    RequestRecord,
    RequestSpec,
)
from monitor.suites.expressions.templates import compile_template, names_used
from monitor.suites.profile.models import Profile, SequenceOperation
from monitor.suites.run.answers import interpret
from monitor.suites.run.call import Call, Session
from monitor.suites.run.request_builder import RequestBuilder

_SECRET = re.compile(r"token|refresh|passw|secret|api_?key|cookie|credential", re.IGNORECASE)


class ProfileClient(RequestBuilder):
    """Speaks a profile's API through an engine ``ConcurrentTester`` (``keep_body=True``):
    builds its requests (:class:`RequestBuilder`), sends them and reads the answers
    (:func:`~monitor.suites.run.answers.interpret`)."""

    def __init__(
        self, profile: Profile, tester: ConcurrentTester, variables: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(profile, variables)
        self.tester = tester
        self._secrets = (
            names_used(profile.auth.value, "session")
            | names_used(list(profile.headers.values()), "session")
        ) - set(profile.auth.public)

    # -- what the profile maps ---------------------------------------------------------------
    def missing(self, operations: Sequence[str]) -> list[str]:
        """Operations (of ``operations``) the profile does not map."""
        return sorted({op for op in operations if op not in self.profile.operations})

    def public(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """A session's values without its secrets, for ``state`` and the reports: what the
        profile's ``auth`` header is built from (less ``auth.public``), and every key named
        like a credential (``token``, ``refresh_token``, ``password``, ``secret``,
        ``api_key``, ``cookie``)."""
        return {k: v for k, v in values.items() if k not in self._secrets and not _SECRET.search(k)}

    def creates_session(self, kind: str) -> bool:
        """Whether ``kind`` creates a user and her session (``register`` unless the profile says
        otherwise, or an operation marked ``creates_session: true``)."""
        op = self.profile.operations.get(kind)
        if op is None or op.creates_session is None:
            return kind == "register"
        return op.creates_session

    def unknown_route(self, call: Call) -> str | None:
        """The route (``POST /rewards/buy``) of a call the target answered 404 or 405 that no
        outcome rule could name (a framework's "route not found"); None otherwise."""
        if call.status not in (404, 405) or call.code != "error":
            return None
        name = call.records[-1].name if call.records else call.kind
        return self.route(name) or name

    def route_message(self, kind: str, calls: Sequence[Call]) -> str | None:
        """Why ``calls`` of ``kind`` show the profile maps it to a route the target does not
        know (every one answered an unnamed 404/405); None when any answered otherwise."""
        routes = {self.unknown_route(c) for c in calls}
        if not calls or None in routes:
            return None
        statuses = sorted({str(c.status) for c in calls})
        every = "the call" if len(calls) == 1 else f"all {len(calls)} calls"
        known = ", ".join(sorted(str(r) for r in routes))
        return (
            f"operation {kind}: the target does not know the route {known} "
            f"(HTTP {'/'.join(statuses)} to {every}, which no outcome rule names): a profile "
            f"problem, not a finding — fix its method or path, or hide the operation with "
            f"`provides: {{operations: {{{kind}: false}}}}`"
        )

    # -- calling -----------------------------------------------------------------------------
    def interpret(
        self, kind: str, args: Mapping[str, Any], session: Session | None, record: RequestRecord
    ) -> Call:
        """Map one record to a ``Call``; on success, session values are saved (``register``)."""
        op = self._compiled[kind].op
        return interpret(kind, args, session, record, profile=self.profile, op=op)

    async def call(
        self,
        kind: str,
        args: Mapping[str, Any],
        session: Session | None,
        user: int | None = None,
    ) -> Call:
        """Run one logical operation (a request or a sequence); ``user``: as virtual user
        ``user`` of a sustained load (its own keep-alive connection on the fast path)."""
        op = self.profile.operations[kind]
        if isinstance(op, SequenceOperation):
            return await self._sequence(kind, op, args, session, user)
        record = await self.tester.send(self.build(kind, args, session), user)
        return self.interpret(kind, args, session, record)

    def load_transport(self, kinds: Sequence[str], *, own_sessions: bool = False) -> str:
        """``fast path`` or ``aiohttp (why)``: how a load of ``kinds`` whose users pass
        ``user=`` to :meth:`call` is sent (the requests judged by method and base URL).
        Without ``own_sessions`` (users whose sessions were made through user 0, a suite's
        setup) a PER_USER tester keeps aiohttp and user 0's cookies."""
        if not own_sessions and self.tester.mode is ConnectionMode.PER_USER:
            return (
                "aiohttp (per-user connections: the run's requests share user 0's aiohttp "
                "session and its cookies)"
            )
        routes = []
        pending, seen = list(kinds), set()
        while pending:
            kind = pending.pop()
            if kind in seen:
                continue
            seen.add(kind)
            op = self.profile.operations.get(kind)
            if isinstance(op, SequenceOperation):  # its steps are sent one by one
                pending.extend(step.op for step in op.steps)
            method = self.method(kind)
            if method is not None:
                routes.append(RequestSpec(method, self.profile.base_path + "/", name=kind))
        why = self.tester.fast_path_refusal(routes) if routes else "no single-request operation"
        return "fast path" if why is None else f"aiohttp ({why})"

    async def _sequence(
        self,
        kind: str,
        op: SequenceOperation,
        args: Mapping[str, Any],
        session: Session | None,
        user: int | None = None,
    ) -> Call:
        ctx = self.context(kind, args, session)
        steps: dict[str, Any] = {}
        calls: list[Call] = []
        for step in op.steps:
            step_args = compile_template(step.args).render({**ctx, "steps": steps})
            call = await self.call(step.op, step_args, session, user)
            calls.append(call)
            if step.save:
                steps[step.save] = call.value
            if not call.ok:
                break
        last = calls[-1]
        value = last.value
        if last.ok and op.result is not None:
            values = session.values if session is not None else {}
            value = compile_template(op.result).render({**ctx, "session": values, "steps": steps})
        records = tuple(r for c in calls for r in c.records)
        return Call(
            kind=kind, process=last.process, args=dict(args), outcome=last.outcome,
            code=last.code, value=value if last.ok else None, status=last.status,
            invoked_at=calls[0].invoked_at, completed_at=last.completed_at,
            latency_ms=sum(c.latency_ms for c in calls), error=last.error,
            error_kind=last.error_kind, records=records, detail=last.detail, body=last.body,
            server_error=last.server_error,
        )  # fmt: skip

    async def fire(
        self, calls: Sequence[tuple[str, Mapping[str, Any], Session | None]]
    ) -> list[Call]:
        """Fire many operations together (see :meth:`fire_phase`); the calls in input order."""
        fired, _ = await self.fire_phase(calls)
        return fired

    async def fire_phase(
        self,
        calls: Sequence[tuple[str, Mapping[str, Any], Session | None]],
        sync: str | None = None,
    ) -> tuple[list[Call], PhaseDelivery | None]:
        """Fire many operations together: single requests go through one engine barrier batch
        delivered per ``sync`` (default: the tester's), sequences (if any) start together
        behind an event. The calls in input order, and how the batch was delivered (``None``
        when the phase holds sequences: their requests cannot be synchronised)."""
        if all(self.is_single_request(kind) for kind, _, _ in calls):
            specs = [self.build(kind, args, session) for kind, args, session in calls]
            result = await self.tester.run_batch(specs, sync)
            interpreted = [
                self.interpret(kind, args, session, record)
                for (kind, args, session), record in zip(calls, result.records, strict=True)
            ]
            return interpreted, result.delivery
        gate = asyncio.Event()

        async def one(kind: str, args: Mapping[str, Any], session: Session | None) -> Call:
            await gate.wait()
            return await self.call(kind, args, session)

        tasks = [asyncio.ensure_future(one(k, a, s)) for k, a, s in calls]
        await asyncio.sleep(0)
        gate.set()
        return list(await asyncio.gather(*tasks)), None
