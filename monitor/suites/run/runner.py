"""The suite runner: every scenario of the loaded suites, in order, through one profile.

``run_suites`` runs loaded suites against a target through a profile and returns a
``RunResult``; scenarios whose operations the profile does not map are SKIPPED with the reason.
One scenario (in attempts) is ``monitor.suites.run.scenario``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from monitor.engine import (
    ConcurrentTester,
    ConnectionMode,
    RequestHooks,
    RequestSpec,
    SyncMode,
)
from monitor.errors import TargetUnreachable as TargetUnreachable  # noqa: PLC0414 (re-export)
from monitor.suites.loading.loader import LoadedSuite
from monitor.suites.profile.models import Profile
from monitor.suites.results import (
    RunResult,
    ScenarioResult,
    SuiteResult,
)
from monitor.suites.run.attempts import AttemptPolicy
from monitor.suites.run.client import ProfileClient
from monitor.suites.run.scenario import HistoryObserver, run_scenario
from monitor.suites.suite.models import Scalar
from monitor.suites.suite.params import run_variables


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
    attempts: AttemptPolicy = field(default_factory=lambda: AttemptPolicy(attempts=1))
    """Attempts of race scenarios, stop at the first violation or not, the spread bound. The
    library runs one attempt unless asked; `soakmon run`, the daemon and the Helm Job default
    to ``DEFAULT_RACE_ATTEMPTS`` (``AttemptPolicy()``)."""


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
        sync=opts.sync, h2c=opts.h2c, ca_file=opts.ca_file, fast_path=True,
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
                        on_history=opts.on_history, policy=opts.attempts,
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
