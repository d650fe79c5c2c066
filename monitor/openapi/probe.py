"""Runs the probes of a document against a target (the I/O edge; findings are computed by
:mod:`monitor.openapi.findings` from what is recorded here).

Per probe: a fresh user; for a repeat probe, the parents its path needs are created (twice:
one set for the baseline, one for the concurrent batch), the request is sent twice in a row
with reads around each, then N identical requests are released together through the
synchronised sender (``monitor.engine.sync``) and the reads repeated. An update probe sends N
updates of different fields together and reads the resource back.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

import jmespath

from monitor.engine import (
    ConcurrentResult,
    ConcurrentTester,
    PhaseDelivery,
    RequestRecord,
    RequestSpec,
)
from monitor.errors import SoakmonError, TargetUnreachable
from monitor.openapi.auth import AuthPlan, SessionPlan
from monitor.openapi.findings import (
    Answer,
    Finding,
    RepeatRecord,
    UpdateGroup,
    repeat_findings,
    update_findings,
)
from monitor.openapi.measures import find_field, measures, tokens_of
from monitor.openapi.model import Api, ApiOperation
from monitor.openapi.plan import RaceProbe
from monitor.openapi.refs import produce
from monitor.openapi.session import (
    ProbeSetupError,
    Sessions,
    User,
    fill_path,
    parse,
    text,
    with_query,
)
from monitor.openapi.values import ValueSource, fresh, token


class BudgetExhausted(SoakmonError):
    """``--max-requests`` or ``--duration`` is used up."""


@dataclass(slots=True)
class ProbeOptions:
    concurrency: int = 10
    max_requests: int = 2000
    duration_s: float = 300.0
    sync: str = "auto"
    timeout_s: float = 10.0
    seed: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    """Sent with every request (an API key issued out of band: ``--header``)."""
    attempts: int = 3
    """Concurrent batches per probe (fresh resources each) until one shows a finding."""


@dataclass(slots=True)
class ProbeOutcome:
    """What one probe did: findings, or the error that stopped it, or why it was skipped."""

    probe: RaceProbe
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None
    requests: int = 0
    duration_s: float = 0.0
    delivery: PhaseDelivery | None = None
    request: str = ""
    attempts: int = 0  # concurrent batches fired
    batch: ConcurrentResult | None = None  # the last concurrent batch (request statistics)
    replay: dict[str, Any] = field(default_factory=dict)  # what --save needs to replay it


class Prober:
    """Runs probes with one tester, counting requests against the budget."""

    def __init__(
        self,
        target: str,
        api: Api,
        *,
        values: ValueSource,
        auth: AuthPlan,
        session: SessionPlan,
        options: ProbeOptions,
    ) -> None:
        self.api, self.values, self.options = api, values, options
        self.tester = ConcurrentTester(
            target, timeout=options.timeout_s, keep_body=True, sync=options.sync
        )
        self.sent = 0
        self.deadline = time.monotonic() + options.duration_s
        self.sessions = Sessions(
            self.tester,
            values=values,
            auth=auth,
            plan=session,
            base_path=api.base_path,
            send=self.send,
        )
        self.sessions.static = dict(options.headers)
        self.rnd = random.Random(options.seed)
        self.delivery: PhaseDelivery | None = None  # of the last update batch
        self.batch: ConcurrentResult | None = None
        self.made: dict[str, Any] = {}  # the body each parent was created with (for --save)

    def _spend(self, n: int) -> None:
        if self.sent + n > self.options.max_requests:
            raise BudgetExhausted(f"--max-requests {self.options.max_requests} reached")
        if time.monotonic() > self.deadline:
            raise BudgetExhausted(f"--duration {self.options.duration_s:g}s reached")
        self.sent += n

    async def send(self, spec: RequestSpec) -> RequestRecord:
        self._spend(1)
        record = await self.tester.send(spec)
        if self.sent == 1 and record.status is None:
            raise TargetUnreachable(f"{self.tester.base_url}: {record.error}")
        return record

    async def fire(
        self, specs: list[RequestSpec]
    ) -> tuple[list[RequestRecord], PhaseDelivery | None]:
        self._spend(len(specs))
        return await self.tester.fire_batch(specs)

    async def aclose(self) -> None:
        await self.tester.aclose()

    # -- building requests --------------------------------------------------------------------
    def spec(
        self,
        op: ApiOperation,
        user: User,
        params: dict[str, Any],
        body: Any = None,
        query: dict[str, Any] | None = None,
    ) -> RequestSpec:
        path = with_query(self.api.base_path + fill_path(op.path, params), query or {})
        headers = {
            **self.options.headers,
            **(user.headers if self.api.required_schemes(op) else {}),
        }
        return RequestSpec(op.method, path, json=body, headers=headers, name=op.label)

    def draw(self, op: ApiOperation, n: int = 1) -> list[tuple[Any, dict[str, Any]]]:
        drawn = self.values.draw(op.method, op.path, n)
        return [(d.body, d.query) for d in drawn] or [(None, {})]

    async def parents(self, probe: RaceProbe, user: User) -> dict[str, Any]:
        """Create what the probe's path parameters name; their values by parameter."""
        params: dict[str, Any] = {}
        for producer in probe.producers:
            if producer.op is None:  # another user
                other = await self.sessions.new_user()
                found, value = find_field(other.answer, producer.user_field or "", 0)
                params[producer.param] = value if found else other.username
                continue
            body, query = self.draw(producer.op)[0]
            self.made[producer.op.label] = body
            if producer.field is None:  # PUT /things/{name} creates it
                params[producer.param] = token()
                record = await self.send(self.spec(producer.op, user, params, body, query))
            else:
                record = await self.send(self.spec(producer.op, user, params, body, query))
                value = jmespath.search(producer.field, parse(record))
                if value is not None:
                    params[producer.param] = value
            if (
                record.status is None
                or not 200 <= record.status < 300
                or producer.param not in params
            ):
                raise ProbeSetupError(
                    f"creating {{{producer.param}}} with {producer.op.label} answered "
                    f"{record.status or record.error}: {text(record)[:200]}"
                )
        if probe.before is not None:
            body, query = self.draw(probe.before)[0]
            body = await produce(self, probe.refs_before, user, body)
            record = await self.send(self.spec(probe.before, user, params, body, query))
            if record.status is None or not 200 <= record.status < 300:
                raise ProbeSetupError(f"{probe.before.label} answered {record.status}")
        return params

    async def make(self, op: ApiOperation, user: User) -> Any:
        """Create a resource a body field references (``refs.produce``); its answer."""
        body, query = self.draw(op)[0]
        self.made[op.label] = body
        record = await self.send(self.spec(op, user, {}, body, query))
        if record.status is None or not 200 <= record.status < 300:
            raise ProbeSetupError(
                f"creating a referenced resource with {op.label} answered "
                f"{record.status or record.error}: {text(record)[:200]}"
            )
        return parse(record)

    async def other_user(self) -> Any:
        return (await self.sessions.new_user()).answer

    def own_answer(self, user: User) -> Any:
        return user.answer

    async def read(
        self, probe: RaceProbe, user: User, params: dict[str, Any], tokens: list[str]
    ) -> dict[str, float]:
        out: dict[str, float] = {}
        for op in probe.reads:
            record = await self.send(self.spec(op, user, params))
            out.update(measures(f"GET {op.path}", record.status, parse(record), tokens))
        return out

    # -- probes ---------------------------------------------------------------------------------
    async def run(self, probe: RaceProbe) -> ProbeOutcome:
        outcome = ProbeOutcome(probe)
        if probe.skip:
            outcome.skipped = probe.skip
            return outcome
        start, sent = time.monotonic(), self.sent
        try:
            user = await self.sessions.new_user()
            if probe.kind == "updates":
                await self._updates(probe, user, outcome)
            else:
                await self._repeat(probe, user, outcome)
        except ProbeSetupError as exc:
            outcome.error = str(exc)
        finally:
            outcome.requests = self.sent - sent
            outcome.duration_s = time.monotonic() - start
        return outcome

    async def _repeat(self, probe: RaceProbe, user: User, outcome: ProbeOutcome) -> None:
        op, n = probe.op, self.options.concurrency
        params = await self.parents(probe, user)
        body, query = self.draw(op)[0]
        body = await produce(self, probe.refs, user, body)
        tokens = tokens_of(body)
        before = [await self.read(probe, user, params, tokens)]
        still = await self.read(probe, user, params, tokens)  # what moves with no write
        baseline: list[Answer] = []
        for _ in range(2):
            record = await self.send(self.spec(op, user, params, body, query))
            baseline.append(_answer(record))
            before.append(await self.read(probe, user, params, tokens))
        for attempt in range(1, self.options.attempts + 1):  # a race may need a few tries
            user = await self.sessions.new_user()  # once-per-user effects start afresh
            params2 = await self.parents(probe, user)
            body2 = await produce(self, probe.refs, user, fresh(body))
            spec = self.spec(op, user, params2, body2, query)
            outcome.request = _describe(spec)
            tokens2 = tokens_of(body2)
            around = [await self.read(probe, user, params2, tokens2)]
            records, outcome.delivery = await self.fire([spec] * n)
            outcome.batch = ConcurrentResult(records)
            around.append(await self.read(probe, user, params2, tokens2))
            answers = [_answer(r) for r in records]
            rec = RepeatRecord(op.label, outcome.request, baseline, before, answers, around, still)
            outcome.findings = repeat_findings(rec)
            outcome.attempts = attempt
            if outcome.findings:
                break
        outcome.replay = {
            "body": body2,
            "query": query,
            "baseline": [a.status for a in baseline],
            "second_body": baseline[1].text,
            "parents": dict(self.made),
            "answers": [a.status for a in rec.concurrent],
        }

    async def _updates(self, probe: RaceProbe, user: User, outcome: ProbeOutcome) -> None:
        op = probe.op
        get = next((o for o in probe.reads if o.path == op.path), None)
        if get is None:
            outcome.error = f"no GET {op.path} to read the updated resource back"
            return
        body, query = self.draw(op)[0]
        names = [k for k, v in (body or {}).items() if isinstance(v, str) and v.startswith("soak-")]
        if not names:
            outcome.error = "no free-text field in the body to tell the updates apart"
            return
        params = await self.parents(probe, user)
        body = await produce(self, probe.refs, user, body)
        original = parse(await self.send(self.spec(get, user, params)))
        partial = op.method == "PATCH" and len(names) > 1
        if partial:  # does the service keep the fields a PATCH does not send?
            probe_body = {names[0]: token()}
            record = await self.send(self.spec(op, user, params, probe_body, query))
            after = parse(await self.send(self.spec(get, user, params)))
            partial = (
                record.status is not None
                and 200 <= record.status < 300
                and all(find_field(after, k) == find_field(original, k) for k in names[1:])
            )
            original = after
        for attempt in range(1, self.options.attempts + 1):  # a race may need a few tries
            if attempt > 1:
                params = await self.parents(probe, user)
                original = parse(await self.send(self.spec(get, user, params)))
            findings, replay = await self._update_batch(
                probe,
                user,
                params,
                drawn=(body, query),
                names=names,
                original=original,
                partial=partial,
            )
            outcome.findings, outcome.replay, outcome.attempts = findings, replay, attempt
            outcome.delivery, outcome.batch = self.delivery, self.batch
            outcome.request = replay.pop("request")
            if findings:
                break

    async def _update_batch(
        self,
        probe: RaceProbe,
        user: User,
        params: dict[str, Any],
        *,
        drawn: tuple[Any, dict[str, Any]],
        names: list[str],
        original: Any,
        partial: bool,
    ) -> tuple[list[Finding], dict[str, Any]]:
        op, n = probe.op, self.options.concurrency
        body, query = drawn
        get = next(o for o in probe.reads if o.path == op.path)
        groups: list[UpdateGroup] = []
        for i in range(n):
            if partial:
                name = names[i % len(names)]
                fields = {name: f"soak-{name[:4]}-{i % len(names)}-{token()[5:]}"}
                if i >= len(names):
                    fields = dict(groups[i % len(names)].fields)
                groups.append(UpdateGroup(fields))
            else:
                groups.append(UpdateGroup({**(body or {}), **{k: token() for k in names}}))
        unique: dict[str, UpdateGroup] = {}
        for g in groups:
            unique.setdefault(repr(g.fields), g)
        specs = [
            self.spec(op, user, params, {**({} if partial else (body or {})), **g.fields}, query)
            for g in groups
        ]
        request = _describe(specs[0]) + f" (+{n - 1} updates of {', '.join(names)})"
        records, self.delivery = await self.fire(specs)
        self.batch = ConcurrentResult(records)
        answers = [_answer(r) for r in records]
        for g, a in zip(groups, answers, strict=True):
            unique[repr(g.fields)].answers.append(a)
        final_body = parse(await self.send(self.spec(get, user, params)))
        final = {k: v for k in names for found, v in [find_field(final_body, k)] if found}
        orig = {k: v for k in names for found, v in [find_field(original, k)] if found}
        findings = update_findings(
            op.label, request, list(unique.values()), orig, final, partial=partial
        )
        return findings, {
            "request": request,
            "groups": [g.fields for g in unique.values()],
            "partial": partial,
            "query": query,
            "final": final,
            "final_body": final_body,
            "parents": dict(self.made),
            "answers": [a.status for a in answers],
        }


def _answer(record: RequestRecord) -> Answer:
    return Answer(record.status, text(record), record.error)


def _describe(spec: RequestSpec) -> str:
    import json

    body = f" {json.dumps(spec.json, ensure_ascii=False)[:200]}" if spec.json is not None else ""
    return f"{spec.method} {spec.path}{body}"
