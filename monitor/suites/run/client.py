"""The profile-driven client: operation + args + session -> engine ``RequestSpec``, and an
engine ``RequestRecord`` -> a ``Call`` (canonical outcome, code and extracted value) -> a
history ``Op``."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from monitor.engine import (
    ConcurrentTester,
    ConnectionMode,
    PhaseDelivery,
    RequestRecord,
    RequestSpec,
)
from monitor.suites.errors import ExpressionError
from monitor.suites.expressions.names import PROFILE_TEMPLATE_NAMES
from monitor.suites.expressions.templates import Template, compile_template, names_used
from monitor.suites.profile.models import HttpOperation, Profile, SequenceOperation, series_of
from monitor.suites.profile.operations import OPERATIONS
from monitor.suites.profile.outcomes import classify, parse_prometheus, search
from monitor.suites.results.history import Op, Outcome


@dataclass(slots=True)
class Session:
    """A user of the target: credentials from ``register`` plus values saved for this user."""

    name: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Call:
    """What one logical operation did (one request, or a sequence of them)."""

    kind: str
    process: str
    args: Mapping[str, Any]
    outcome: Outcome
    code: str
    value: Any
    status: int | None
    invoked_at: float
    completed_at: float | None
    latency_ms: float
    error: str | None = None
    error_kind: str | None = None
    records: tuple[RequestRecord, ...] = ()
    detail: str | None = None  # the target's own words on a non-ok answer (for messages)
    body: str | None = None  # bounded response excerpt for evidence (``excerpt``)
    server_error: bool = False  # an HTTP 5xx, or an answer a profile rule declares a server error

    @property
    def unsent(self) -> bool:
        """A transport failure whose last request provably never reached the target whole
        (``RequestRecord.sent`` False: no connection, or closed while it was written), so it
        cannot have been applied: safe to send again whatever the method."""
        return self.code == "transport" and bool(self.records) and not self.records[-1].sent

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    def to_op(self, op_id: int) -> Op:
        """The history ``Op`` of this call."""
        return Op(
            id=op_id,
            process=self.process,
            kind=self.kind,
            args=self.args,  # no copy: a call's args are its own (100k+ ops in a load)
            outcome=self.outcome,
            code=self.code,
            value=self.value,
            invoked_at=self.invoked_at,
            completed_at=self.completed_at,
            status=self.status,
            latency_ms=self.latency_ms,
            error=self.error,
            error_kind=self.error_kind,
            body=self.body,
            declared_server_error=self.server_error,
        )


#: Longest response excerpt kept per op as evidence, in characters.
MAX_EXCERPT = 400


def excerpt(op: HttpOperation, ok: bool, body: Any) -> str | None:
    """The part of a response shown as evidence: the operation's ``evidence`` JMESPath when it
    has one (for every answer; a non-ok answer it finds nothing in is shown whole), else the
    whole body of a non-ok answer; compact JSON, bounded."""
    chosen = search(op.evidence, body) if op.evidence is not None else None
    if chosen is not None:
        body = chosen
    elif ok or body is None:
        return None
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)
    return text if len(text) <= MAX_EXCERPT else text[: MAX_EXCERPT - 1] + "…"


def text_excerpt(raw: bytes) -> str | None:
    """A body that is not JSON (a plain-text 500 traceback, an HTML error page), bounded: its
    head and, when longer, its last lines — where a traceback names what went wrong."""
    text = raw.decode("utf-8", "replace").strip()
    if not text:
        return None
    if len(text) <= MAX_EXCERPT:
        return text
    head = MAX_EXCERPT // 3
    return text[:head].rstrip() + " … " + text[-(MAX_EXCERPT - head - 3) :].lstrip()


def last_line(raw: bytes) -> str | None:
    """The last non-empty line of a text body (a traceback's exception), for messages."""
    lines = [line.strip() for line in raw.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1][:200] if lines else None


@dataclass(frozen=True, slots=True)
class _Compiled:
    op: HttpOperation
    path: Template
    query: Template
    body: Template
    headers: Template


_SECRET = re.compile(r"token|refresh|passw|secret|api_?key|cookie|credential", re.IGNORECASE)


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: v for k, v in value.items() if v is not None}
    return value


def _detail(body: Any) -> str | None:
    """A short human message from an error body (``message``, ``error`` or ``detail``), else
    the body itself as compact JSON (``{"errors": {"slug": ["has already been taken"]}}``)."""
    if isinstance(body, Mapping):
        for key in ("message", "msg", "error", "detail", "title", "errorMessage"):
            text = body.get(key)
            if isinstance(text, str) and text:
                return text[:200]
    if body is None:
        return None
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)
    return text if len(text) <= 200 else text[:199] + "…"


def _query_text(query: Mapping[str, Any]) -> str:
    pairs = []
    for key, value in query.items():
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        pairs.append((key, text))
    return urlencode(pairs)


class ProfileClient:
    """Speaks a profile's API through an engine ``ConcurrentTester`` (``keep_body=True``)."""

    def __init__(
        self, profile: Profile, tester: ConcurrentTester, variables: Mapping[str, Any] | None = None
    ) -> None:
        self.profile = profile
        self.tester = tester
        self.variables = dict(variables or {})
        self._auth = compile_template(profile.auth.value)
        self._secrets = (
            names_used(profile.auth.value, "session")
            | names_used(list(profile.headers.values()), "session")
        ) - set(profile.auth.public)
        self._headers = compile_template(profile.headers)
        self._compiled: dict[str, _Compiled] = {}
        self._arg_names: dict[str, set[str]] = {}
        for name, op in profile.operations.items():
            if isinstance(op, HttpOperation):
                parts = [op.path, op.query, op.body, op.headers]
                self._arg_names[name] = names_used(parts, "args") - PROFILE_TEMPLATE_NAMES
                self._compiled[name] = _Compiled(
                    op,
                    compile_template(op.path),
                    compile_template(op.query),
                    compile_template(op.body),
                    compile_template(op.headers),
                )

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

    def method(self, kind: str) -> str | None:
        """The HTTP method of a single-request operation (None for a sequence)."""
        compiled = self._compiled.get(kind)
        return compiled.op.method if compiled is not None else None

    def route(self, kind: str) -> str | None:
        """``POST /rewards/buy``: the method and path template the profile maps ``kind`` to."""
        compiled = self._compiled.get(kind)
        if compiled is None:
            return None
        return f"{compiled.op.method} {self.profile.base_path}{compiled.op.path}"

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

    def is_single_request(self, kind: str) -> bool:
        """True when the operation is one HTTP request (it can join a barrier batch)."""
        return kind in self._compiled

    # -- request building ----------------------------------------------------------------------
    def _context(
        self, kind: str, args: Mapping[str, Any], session: Session | None
    ) -> dict[str, Any]:
        known = OPERATIONS[kind].args if kind in OPERATIONS else ()
        full = dict.fromkeys((*known, *self._arg_names.get(kind, ())), None)
        full.update(args)
        values = session.values if session is not None else {}
        return {**full, "args": full, "session": values, "vars": self.variables}

    def build(self, kind: str, args: Mapping[str, Any], session: Session | None) -> RequestSpec:
        """The HTTP request of a single-request operation (raises ``ExpressionError``)."""
        compiled = self._compiled[kind]
        ctx = self._context(kind, args, session)
        rendered = compiled.path.render(ctx)
        if rendered is None:
            raise ExpressionError(
                f"operation {kind!r}: a path argument is missing ({compiled.op.path})"
            )
        path = self.profile.base_path + str(rendered)
        query = _query_text(compiled.query.render(ctx))
        if query:
            path += ("&" if "?" in path else "?") + query
        headers = {k: str(v) for k, v in self._headers.render(ctx).items() if v not in (None, "")}
        if compiled.op.auth:
            if session is None:
                raise ExpressionError(
                    f"operation {kind!r} is sent with credentials (the profile's `auth`): give "
                    "its step or phase op a `user:`, or mark it `auth: false` in the profile"
                )
            headers[self.profile.auth.header] = str(self._auth.render(ctx))
        for key, value in compiled.headers.render(ctx).items():
            if value not in (None, ""):
                headers[key] = str(value)
        body = _drop_nulls(compiled.body.render(ctx)) if compiled.op.body is not None else None
        return RequestSpec(
            method=compiled.op.method,
            path=path,
            json=body,
            headers=headers,
            name=kind,
            timeout=compiled.op.timeout_s or self.profile.timeout_s,
        )

    # -- response interpretation ---------------------------------------------------------------
    def interpret(
        self, kind: str, args: Mapping[str, Any], session: Session | None, record: RequestRecord
    ) -> Call:
        """Map one record to a ``Call``; on success, session values are saved (``register``)."""
        op = self._compiled[kind].op
        process = session.name if session is not None else "-"
        completed = record.start + record.duration_ms / 1000.0
        base: dict[str, Any] = {
            "kind": kind,
            "process": process,
            "args": dict(args),
            "status": record.status,
        }
        # a synchronised request was invoked when its first bytes left (the server may act on
        # it from then), not at its release: ordering checks must not think it started later
        invoked = record.start if record.invoked is None else min(record.invoked, record.start)
        base |= {"invoked_at": invoked, "latency_ms": record.duration_ms}
        if record.error is not None or record.status is None:
            outcome = Outcome.UNKNOWN if record.sent else Outcome.FAILED
            return Call(
                outcome=outcome, code="transport", value=None,
                completed_at=None if record.sent else completed,
                error=record.error, error_kind=record.error_kind, records=(record,), **base,
            )  # fmt: skip
        body = self._body(op, record)
        raw = (record.body or b"") if body is None and op.format == "json" else b""
        cookies = {k: set_cookie(record.headers, c) for k, c in op.session_cookies.items()}
        record.body = record.headers = None  # parsed: keep long runs' memory flat
        verdict = classify([*op.outcomes, *self.profile.outcomes], record.status, body)
        if verdict.unknown:
            outcome = Outcome.UNKNOWN
        else:
            outcome = Outcome.OK if verdict.code == "ok" else Outcome.FAILED
        value, detail, shown = None, None, excerpt(op, outcome is Outcome.OK, body)
        if outcome is not Outcome.OK:
            detail = _detail(body) if body is not None else last_line(raw)
            shown = shown if body is not None else text_excerpt(raw)
        if outcome is Outcome.OK:
            value = search(op.extract, body) if op.extract else body
            if session is not None:
                for key, expr in op.session.items():
                    session.values[key] = search(expr, body)
                session.values.update(cookies)
        return Call(
            outcome=outcome, code=verdict.code, value=value,
            completed_at=None if outcome is Outcome.UNKNOWN else completed,
            records=(record,), detail=detail, body=shown, server_error=verdict.server_error,
            **base,
        )  # fmt: skip

    def _body(self, op: HttpOperation, record: RequestRecord) -> Any:
        if op.format == "prometheus":
            series = {k: series_of(v) for k, v in self.profile.metrics.items()}
            mapping = {k: (m.series, m.labels) for k, m in series.items()}
            return parse_prometheus((record.body or b"").decode("utf-8", "replace"), mapping)
        if not record.body:
            return None
        try:
            return json.loads(record.body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # not JSON, or nested past
            return None  # what Python's parser can hold: the outcome rules see no body

    # -- calling -----------------------------------------------------------------------------
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
            compiled = self._compiled.get(kind)
            if compiled is not None:
                method = compiled.op.method
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
        ctx = self._context(kind, args, session)
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


def set_cookie(headers: Mapping[str, str] | None, name: str) -> str | None:
    """The value the answer's ``Set-Cookie`` headers give cookie ``name`` (None: not set)."""
    from http.cookies import CookieError, SimpleCookie

    getall = getattr(headers, "getall", None)
    values = getall("Set-Cookie", []) if getall is not None else []
    for raw in values:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(raw)
        except CookieError:
            continue
        if name in jar:
            return jar[name].value
    return None
