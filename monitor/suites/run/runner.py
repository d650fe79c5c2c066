"""The scenario runner: setup -> concurrent phase(s) -> read-back -> checks -> ScenarioResult.

``run_suites`` runs loaded suites against a target through a profile and returns a
``RunResult``; scenarios whose operations the profile does not map are SKIPPED with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from pydantic import ValidationError

from monitor.engine import (
    ConcurrentResult,
    ConcurrentTester,
    ConnectionMode,
    RequestHooks,
    RequestSpec,
    SyncMode,
)
from monitor.errors import TargetUnreachable as TargetUnreachable  # noqa: PLC0414 (re-export)
from monitor.suites.checks import (
    CheckContext,
    RequestStats,
    run_check,
    stats_by_kind,
    suite_entries,
)
from monitor.suites.errors import SuiteError
from monitor.suites.loading.loader import LoadedSuite
from monitor.suites.profile.capabilities import Capabilities, scenario_unmet
from monitor.suites.profile.models import Profile
from monitor.suites.profile.vocabulary import declared_needs, profile_outcomes
from monitor.suites.results import (
    MAX_TIMELINE_POINTS,
    CheckResult,
    RunResult,
    ScenarioResult,
    SuiteResult,
    bounded,
    observations_from,
    requests_from,
)
from monitor.suites.results.history import History
from monitor.suites.run.client import Call, ProfileClient
from monitor.suites.run.phase import PhaseOutcome, run_phase
from monitor.suites.run.scenario_run import ScenarioRun
from monitor.suites.run.steps import run_steps
from monitor.suites.suite.models import CheckSpec, Scalar, Scenario, Suite
from monitor.suites.suite.params import run_variables, scenario_params

#: Sees each scenario's history and read-back state (suite, scenario, history, state).
HistoryObserver = Callable[[str, str, History, Mapping[str, Any]], None]


@dataclass(slots=True)
class RunOptions:
    """How to run: seed, parameter overrides, callbacks for live progress."""

    seed: int | None = None
    overrides: Mapping[str, Scalar] = field(default_factory=dict)
    on_start: Callable[[str, str], None] | None = None
    on_done: Callable[[ScenarioResult], None] | None = None
    on_history: HistoryObserver | None = None
    timeout_s: float = 10.0
    mode: ConnectionMode = ConnectionMode.SHARED
    sync: SyncMode = SyncMode.AUTO  # how concurrent phases are delivered (a phase may override)
    h2c: bool = False  # the target speaks HTTP/2 in clear text (prior knowledge)
    ca_file: str | None = None  # CAs trusted for an https target (default: the system's)
    hooks: RequestHooks | None = None  # engine hooks (trace headers, per-request metrics)
    tracer: trace.Tracer | None = None  # a span per scenario (requests become its children)


@contextlib.contextmanager
def _scenario_span(
    tracer: trace.Tracer | None, suite: str, scenario: str
) -> Iterator[trace.Span | None]:
    if tracer is None:
        yield None
        return
    with tracer.start_as_current_span(f"scenario {suite}/{scenario}") as span:
        span.set_attribute("soakmon.suite", suite)
        span.set_attribute("soakmon.scenario", scenario)
        yield span


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
class _Progress:
    section: str = "setup"
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)  # operation -> code -> n


async def _execute(
    run: ScenarioRun,
    scenario: Scenario,
    phases: list[PhaseOutcome],
    observe: Callable[[History], None] | None,
    server_errors: dict[str, int],
    *,
    where: _Progress,
) -> list[CheckResult]:
    await run_steps(run, "setup", scenario.setup)
    for p, phase in enumerate(scenario.phases):
        where.section = "phase"
        phases.append(await run_phase(run, phase, f"phases[{p}]"))
    where.section = "readback"
    settle = run.render_float(scenario.settle_s, "settle_s")
    if settle:
        await asyncio.sleep(settle)
    await run_steps(run, "readback", scenario.readback)
    where.section = "checks"
    for done in phases:
        if done.throughput is not None:
            run.state[done.throughput.key] = done.throughput.summary()
    calls = _calls_in_order(phases)
    history = History([c.to_op(i) for i, c in enumerate(calls)])
    for op in history.ops:
        codes = where.outcomes.setdefault(op.kind, {})
        codes[op.code] = codes.get(op.code, 0) + 1
    if observe is not None:
        observe(history)
    stats = {**stats_by_kind(history), **_phase_stats(phases)}
    ctx = CheckContext.build(
        history,
        state=run.state,
        params=run.params,
        duration_s=sum(p.duration_s for p in phases),
        requests=stats,
        operations=run.client.profile.operations,
        outcomes=profile_outcomes(run.client.profile),
    )
    caps = Capabilities.of(run.client.profile)
    checks = [_evaluate(check, ctx, caps) for check in scenario.checks]
    return checks + server_error_verdict(scenario, ctx, server_errors)


def server_error_verdict(
    scenario: Scenario, ctx: CheckContext, counts: dict[str, int]
) -> list[CheckResult]:
    """Count the phase's 5xx answers per status into ``counts``; unless the scenario says
    ``server_errors: report`` or has its own ``no_server_errors`` check, a scenario that saw
    any gets a failed automatic ``no_server_errors`` verdict (a 500 is never a pass)."""
    bad = [op for op in ctx.history.ops if op.server_error]
    for op in bad:
        counts[str(op.status)] = counts.get(str(op.status), 0) + 1
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
        return CheckResult.not_applicable(check.display_name, caps.reason(unmet))
    try:
        return suite_entries.evaluate(check, ctx)
    except (SuiteError, ValidationError) as exc:
        return _section_result(check.display_name, exc, error=True)


async def run_scenario(
    client: ProfileClient,
    suite: Suite,
    scenario: Scenario,
    *,
    seed: int,
    variables: Mapping[str, Any],
    overrides: Mapping[str, Scalar],
    on_history: HistoryObserver | None = None,
) -> ScenarioResult:
    """Run one scenario; never raises for target or step problems: a setup or read-back that
    cannot complete makes the scenario an ``error`` quoting the step and the answer."""
    meta: dict[str, Any] = {"description": scenario.description, "spec_ref": scenario.spec}
    caps = Capabilities.of(client.profile)
    unmet = scenario_unmet(caps, scenario) + caps.unmet(declared_needs(suite, scenario))
    if unmet:
        return ScenarioResult.skipped(scenario.name, suite.name, caps.reason(unmet), **meta)
    rng = random.Random(f"{seed}:{suite.name}:{scenario.name}")
    prefix = f"sm{variables['run_id']}-{rng.getrandbits(24):06x}"
    run = ScenarioRun(
        client=client,
        params=scenario_params(suite, scenario, {**client.profile.params, **overrides}),
        variables=variables,
        rng=rng,
        prefix=prefix,
        operations=caps.operations,
        sync=scenario.sync,
    )
    started = time.monotonic()
    phases: list[PhaseOutcome] = []
    server_errors: dict[str, int] = {}
    where = _Progress()
    try:
        async with asyncio.timeout(scenario.timeout_s):
            observe = None
            if on_history is not None:
                hook = on_history

                def observe(history: History) -> None:
                    hook(suite.name, scenario.name, history, run.state)

            checks = await _execute(run, scenario, phases, observe, server_errors, where=where)
    except TimeoutError:
        late = TimeoutError(f"scenario exceeded {scenario.timeout_s:g} s in its {where.section}")
        checks = [_section_result("timeout", late, error=where.section in ("setup", "readback"))]
    except SuiteError as exc:
        checks = [_section_result(where.section, exc, error=True)]
    result = ConcurrentResult(sample_limit=MAX_TIMELINE_POINTS)
    for done in phases:
        result.absorb(done.requests)
    timeline, histogram = observations_from([result])
    return ScenarioResult.from_checks(
        scenario.name,
        suite.name,
        checks,
        state=bounded(run.state),
        extracted=_extracted(phases),
        duration_s=time.monotonic() - started,
        requests=requests_from(result),
        timeline=timeline,
        histogram=histogram,
        server_errors=server_errors,
        outcomes=where.outcomes,
        **meta,
    )


async def probe(tester: ConcurrentTester) -> None:
    """Raise ``TargetUnreachable`` unless something answers HTTP at the target."""
    record = await tester.send(RequestSpec("GET", "/", name="probe", timeout=5.0))
    if record.status is None:
        raise TargetUnreachable(f"target {tester.base_url} unreachable: {record.error}")


async def run_suites(
    target: str,
    profile: Profile,
    suites: Sequence[LoadedSuite],
    options: RunOptions | None = None,
) -> RunResult:
    """Run every scenario of ``suites`` in order against ``target``."""
    opts = options or RunOptions()
    seed = opts.seed if opts.seed is not None else random.SystemRandom().randrange(2**31)
    variables = run_variables(random.Random(seed))
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    clock = time.monotonic()
    run = RunResult(target=target, started_at=started_at, duration_s=0.0)
    run.profile, run.seed = profile.name, seed
    async with ConcurrentTester(
        target, timeout=opts.timeout_s, keep_body=True, mode=opts.mode, hooks=opts.hooks,
        sync=opts.sync, h2c=opts.h2c, ca_file=opts.ca_file,
    ) as tester:  # fmt: skip
        await probe(tester)
        client = ProfileClient(profile, tester, variables)
        for loaded in suites:
            suite_result = SuiteResult(loaded.suite.name)
            run.suites.append(suite_result)
            for scenario in loaded.suite.scenarios:
                if opts.on_start:
                    opts.on_start(loaded.suite.name, scenario.name)
                with _scenario_span(opts.tracer, loaded.suite.name, scenario.name) as span:
                    result = await run_scenario(
                        client, loaded.suite, scenario,
                        seed=seed, variables=variables, overrides=opts.overrides,
                        on_history=opts.on_history,
                    )  # fmt: skip
                    if span is not None:
                        span.set_attribute("soakmon.status", result.status)
                        if result.status in ("failed", "error"):
                            bad = result.failed_checks or result.error_checks
                            names = ", ".join(c.name for c in bad)
                            span.set_status(Status(StatusCode.ERROR, f"{result.status}: {names}"))
                suite_result.scenarios.append(result)
                if opts.on_done:
                    opts.on_done(result)
    run.duration_s = time.monotonic() - clock
    return run
