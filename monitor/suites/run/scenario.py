"""One scenario, in attempts: setup -> concurrent phase(s) -> read-back -> checks, repeated with a
fresh setup until a check fails or the attempt budget is spent (``monitor.suites.run.attempts``
decides the budget and the spread bound).

``run_scenario`` never raises for target or step problems: a setup or read-back that cannot
complete makes the scenario an ``error`` quoting the step and the answer.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from monitor.engine import ConcurrentResult
from monitor.suites.checks import (
    CheckContext,
    RequestStats,
    run_check,
    stats_by_kind,
    suite_entries,
)
from monitor.suites.errors import RouteUnknown, SuiteError
from monitor.suites.profile.capabilities import Capabilities, scenario_unmet
from monitor.suites.profile.vocabulary import declared_needs, profile_outcomes
from monitor.suites.results import (
    MAX_TIMELINE_POINTS,
    STATE_ITEMS,
    CheckResult,
    ScenarioResult,
    bounded,
    observations_from,
    requests_from,
)
from monitor.suites.results.attempts import AttemptResult
from monitor.suites.results.history import History, Op
from monitor.suites.results.latency import record_ok
from monitor.suites.run.attempts import AttemptPolicy, delivery_error, phase_timings
from monitor.suites.run.call import Call
from monitor.suites.run.client import ProfileClient
from monitor.suites.run.phase import PhaseOutcome, run_phase
from monitor.suites.run.scenario_run import ScenarioRun
from monitor.suites.run.steps import run_steps
from monitor.suites.suite.models import CheckSpec, Scalar, Scenario, Suite
from monitor.suites.suite.params import scenario_params

#: Sees each scenario's history and read-back state (suite, scenario, history, state).
HistoryObserver = Callable[[str, str, History, Mapping[str, Any]], None]


def _calls_in_order(phases: Sequence[PhaseOutcome]) -> list[Call]:
    return [c for p in phases for c in (*p.calls, *p.reads)]


def _phase_stats(phases: Sequence[PhaseOutcome]) -> dict[str, RequestStats]:
    out: dict[str, RequestStats] = {}
    for phase in phases:
        if phase.label:
            ops = [c.to_op(i) for i, c in enumerate(phase.calls)]
            out[f"phase:{phase.label}"] = RequestStats.from_ops(ops)
    return out


def _section_result(section: str, exc: BaseException, *, error: bool) -> CheckResult:
    """A scenario section that did not complete: an ``error`` (the scenario could not be
    evaluated), except a phase that outlives the scenario's timeout (its operations hang)."""
    text = str(exc) or type(exc).__name__
    expected = f"the {section} completes"
    if error:
        return CheckResult.error(section, expected, text, observed=text.splitlines()[0])
    return CheckResult(section, False, expected, text.splitlines()[0], text)


@dataclass(slots=True)
class _Attempt:
    """What one attempt did: its verdicts and everything the result of the scenario needs."""

    run: ScenarioRun
    section: str = "setup"
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)  # operation -> code -> n
    phases: list[PhaseOutcome] = field(default_factory=list)
    server_errors: dict[str, int] = field(default_factory=dict)
    checks: list[CheckResult] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def status(self) -> str:
        statuses = {c.status for c in self.checks}
        if not self.checks or "failed" in statuses:
            return "failed"
        return "error" if "error" in statuses else "passed"


async def _execute(
    attempt: _Attempt, scenario: Scenario, observe: Callable[[History], None] | None
) -> list[CheckResult]:
    run = attempt.run
    await run_steps(run, "setup", scenario.setup)
    for p, phase in enumerate(scenario.phases):
        attempt.section = "phase"
        attempt.phases.append(await run_phase(run, phase, f"phases[{p}]"))
    attempt.section = "readback"
    settle = run.render_float(scenario.settle_s, "settle_s")
    if settle:
        await asyncio.sleep(settle)
    await run_steps(run, "readback", scenario.readback)
    attempt.section = "checks"
    for done in attempt.phases:
        if done.throughput is not None:
            run.state[done.throughput.key] = done.throughput.summary()
    calls = _calls_in_order(attempt.phases)
    attempt.section = "profile"
    unknown_routes(run.client, calls)
    attempt.section = "checks"
    history = History([c.to_op(i) for i, c in enumerate(calls)])
    for op in history.ops:
        codes = attempt.outcomes.setdefault(op.kind, {})
        code = counted_code(op)
        codes[code] = codes.get(code, 0) + 1
    if observe is not None:
        observe(history)
    stats = {**stats_by_kind(history), **_phase_stats(attempt.phases)}
    ctx = CheckContext.build(
        history,
        state=run.state,
        params=run.params,
        duration_s=sum(p.duration_s for p in attempt.phases),
        requests=stats,
        operations=run.client.profile.operations,
        outcomes=profile_outcomes(run.client.profile),
    )
    caps = Capabilities.of(run.client.profile)
    checks = [_evaluate(check, ctx, caps) for check in scenario.checks]
    return checks + server_error_verdict(scenario, ctx, attempt.server_errors)


def unknown_routes(client: ProfileClient, calls: Sequence[Call]) -> None:
    """Raise ``RouteUnknown`` when the target answered every call of an operation of the
    phases with a 404/405 that no outcome rule names: the profile maps the operation to a route
    the target does not know, and judging the scenario's checks would blame the service."""
    by_kind: dict[str, list[Call]] = {}
    for call in calls:
        by_kind.setdefault(call.kind, []).append(call)
    messages = [m for kind, mine in by_kind.items() if (m := client.route_message(kind, mine))]
    if messages:
        raise RouteUnknown("; ".join(messages))


#: Outcome names a server error keeps in outcome counts (others become ``server_error``).
SERVER_ERROR_CODES = frozenset({"server_error", "retry_later"})


def counted_code(op: Op) -> str:
    """The outcome an op counts under in reports and metrics: a server error a rule named as a
    refusal (``username_taken`` for an HTTP 500) counts as ``server_error``, never among the
    refusals; ``retry_later`` keeps its name (the service says nothing was written)."""
    if op.server_error and op.code not in SERVER_ERROR_CODES:
        return "server_error"
    return op.code


def server_error_key(op: Op) -> str:
    """How a server error is counted in ``server_errors``: its HTTP status (``"500"``), or the
    status and outcome of an answer the profile declares one (``"200 server_error"``)."""
    if op.status is not None and op.status >= 500:
        return str(op.status)
    return f"{op.status} {op.code}"


def server_error_verdict(
    scenario: Scenario, ctx: CheckContext, counts: dict[str, int]
) -> list[CheckResult]:
    """Count the phase's server errors (5xx answers, and answers the profile declares server
    errors) into ``counts``; unless the scenario says ``server_errors: report`` or has its own
    ``no_server_errors`` check, a scenario that saw any gets a failed automatic
    ``no_server_errors`` verdict (a 500 is never a pass)."""
    bad = [op for op in ctx.history.ops if op.server_error]
    for op in bad:
        key = server_error_key(op)
        counts[key] = counts.get(key, 0) + 1
    explicit = any(c.check == "no_server_errors" for c in scenario.checks)
    if not bad or explicit or scenario.server_errors == "report":
        return []
    return [run_check("no_server_errors", ctx, {}, label="no server errors (automatic)")]


EXTRACTED_PER_KIND = 3


def _extracted(phases: Sequence[PhaseOutcome]) -> dict[str, Any]:
    """Per operation kind of the phases: the first values extracted from ok answers and the
    first refusals (outcome and the target's words), bounded, to debug a profile's mapping."""
    out: dict[str, dict[str, list[Any]]] = {}
    for call in _calls_in_order(phases):
        entry = out.setdefault(call.kind, {"ok": [], "not_ok": []})
        if call.code == "ok":
            if len(entry["ok"]) < EXTRACTED_PER_KIND:
                entry["ok"].append(bounded(call.value))
        elif len(entry["not_ok"]) < EXTRACTED_PER_KIND:
            status = f" HTTP {call.status}" if call.status is not None else ""
            said = f": {call.detail}" if call.detail else ""
            entry["not_ok"].append(bounded(f"{call.code}{status}{said}"))
    return out


def _evaluate(check: CheckSpec, ctx: CheckContext, caps: Capabilities) -> CheckResult:
    unmet = caps.unmet(check.needs)
    if unmet:
        name = suite_entries.check_name(check, ctx.params)
        return CheckResult.not_applicable(name, caps.reason(unmet))
    try:
        return suite_entries.evaluate(check, ctx)
    except (SuiteError, ValidationError) as exc:
        return _section_result(suite_entries.check_name(check, ctx.params), exc, error=True)


@dataclass(frozen=True, slots=True)
class ScenarioContext:
    """What every attempt of a scenario shares."""

    client: ProfileClient
    suite: Suite
    scenario: Scenario
    seed: int
    variables: Mapping[str, Any]
    params: Mapping[str, Any]
    operations: frozenset[str] | None
    on_history: HistoryObserver | None = None

    def new_run(self, index: int) -> ScenarioRun:
        """A fresh run for attempt ``index`` (0-based): its own users, random order and
        ``vars.run_id`` (names a suite makes unique with it, like a drafted suite's codes, must
        not collide with the previous attempt's). The first attempt draws exactly what a single
        run always drew (reproducible seeds)."""
        tag = f"{self.seed}:{self.suite.name}:{self.scenario.name}"
        rng = random.Random(tag if index == 0 else f"{tag}:{index}")
        prefix = f"sm{self.variables['run_id']}-{rng.getrandbits(24):06x}"
        variables = self.variables
        if index:  # a fresh run against the same target: values unique per run_id stay unique
            again = random.Random(f"{variables['run_id']}:{index}")
            variables = {**variables, "run_id": f"{again.getrandbits(32):08x}"}
        return ScenarioRun(
            client=self.client,
            params=self.params,
            variables=variables,
            rng=rng,
            prefix=prefix if index == 0 else f"{prefix}a{index}",
            operations=self.operations,
            sync=self.scenario.sync,
        )


async def _attempt(ctx: ScenarioContext, index: int) -> _Attempt:
    scenario = ctx.scenario
    attempt = _Attempt(ctx.new_run(index))
    started = time.monotonic()
    observe = None
    if ctx.on_history is not None:
        hook, suite, state = ctx.on_history, ctx.suite.name, attempt.run.state

        def observe(history: History) -> None:
            hook(suite, scenario.name, history, state)

    try:
        async with asyncio.timeout(scenario.timeout_s):
            attempt.checks = await _execute(attempt, scenario, observe)
    except TimeoutError:
        late = TimeoutError(f"scenario exceeded {scenario.timeout_s:g} s in its {attempt.section}")
        error = attempt.section in ("setup", "readback")
        attempt.checks = [_section_result("timeout", late, error=error)]
    except SuiteError as exc:
        attempt.checks = [_section_result(attempt.section, exc, error=True)]
    attempt.duration_s = time.monotonic() - started
    return attempt


def _summary(index: int, attempt: _Attempt) -> AttemptResult:
    status = attempt.status
    bad = "failed" if status == "failed" else "error"
    return AttemptResult(
        attempt=index + 1,
        status="failed" if status == "failed" else "error" if status == "error" else "passed",
        phases=phase_timings(attempt.phases),
        duration_s=attempt.duration_s,
        failed=[c.name for c in attempt.checks if c.status == bad] if status != "passed" else [],
    )


def _add_counts(
    outcomes: dict[str, dict[str, int]], server_errors: dict[str, int], attempt: _Attempt
) -> None:
    """Sum what every attempt sent: outcomes per operation and code, 5xx answers per status."""
    for kind, codes in attempt.outcomes.items():
        mine = outcomes.setdefault(kind, {})
        for code, n in codes.items():
            mine[code] = mine.get(code, 0) + n
    for status, n in attempt.server_errors.items():
        server_errors[status] = server_errors.get(status, 0) + n


async def run_scenario(
    client: ProfileClient,
    suite: Suite,
    scenario: Scenario,
    *,
    seed: int,
    variables: Mapping[str, Any],
    overrides: Mapping[str, Scalar],
    on_history: HistoryObserver | None = None,
    policy: AttemptPolicy | None = None,
) -> ScenarioResult:
    """Run one scenario in attempts (``policy``: budget, spread bound, stop at the first
    violation or not); the result is the deciding attempt's (the first that found a violation,
    else the one that errored, else the last) with every attempt summarised in ``attempts``."""
    meta: dict[str, Any] = {"description": scenario.description, "spec_ref": scenario.spec}
    caps = Capabilities.of(client.profile)
    unmet = scenario_unmet(caps, scenario) + caps.unmet(declared_needs(suite, scenario))
    if unmet:
        return ScenarioResult.skipped(scenario.name, suite.name, caps.reason(unmet), **meta)
    ctx = ScenarioContext(
        client=client,
        suite=suite,
        scenario=scenario,
        seed=seed,
        variables=variables,
        params=scenario_params(suite, scenario, {**client.profile.params, **overrides}),
        operations=caps.operations,
        on_history=on_history,
    )
    started = time.monotonic()
    try:
        attempts = (policy or AttemptPolicy()).attempts_for(scenario, ctx.new_run(0))
    except SuiteError as exc:
        check = _section_result("attempts", exc, error=True)
        return ScenarioResult.from_checks(scenario.name, suite.name, [check], **meta)
    deciding: _Attempt | None = None
    last: _Attempt | None = None
    outcomes: dict[str, dict[str, int]] = {}
    server_errors: dict[str, int] = {}
    aggregate = ConcurrentResult(sample_limit=MAX_TIMELINE_POINTS)
    attempts_seen: list[_Attempt] = []
    while attempts.more():
        index = len(attempts.runs)
        last = await _attempt(ctx, index)
        if attempts.add(_summary(index, last)).status != "passed" and deciding is None:
            deciding = last
        attempts_seen.append(last)
        for done in last.phases:
            aggregate.absorb(done.requests)
        _add_counts(outcomes, server_errors, last)
    deciding = deciding or last
    assert deciding is not None
    checks = list(deciding.checks)
    weak_only = delivery_error(attempts)
    if weak_only is not None:
        checks.append(weak_only)
    declared = {id(r) for seen in attempts_seen for done in seen.phases for r in done.server_errors}
    timeline, histogram = observations_from(
        [aggregate], is_ok=lambda r: record_ok(r) and id(r) not in declared
    )
    return ScenarioResult.from_checks(
        scenario.name,
        suite.name,
        checks,
        state=bounded(deciding.run.state, items=STATE_ITEMS),
        extracted=_extracted(deciding.phases),
        duration_s=time.monotonic() - started,
        requests=requests_from(aggregate),
        timeline=timeline,
        histogram=histogram,
        server_errors=server_errors,
        outcomes=outcomes,
        attempts=attempts,
        **meta,
    )
