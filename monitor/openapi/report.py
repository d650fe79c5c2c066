"""Probe outcomes as a :class:`RunResult`: the console, JSON, JUnit and HTML reports of
``soakmon run`` and its exit codes (0 clean, 1 findings, 4 errors only) apply unchanged.

One scenario per probed operation (suite ``probe``); one failed check per finding, named by its
kind; a probe that ran clean passes its checks; one that could not run is an error naming why;
an excluded or impossible one is not applicable with the reason."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from monitor.openapi.findings import KIND_TITLES
from monitor.openapi.probe import ProbeOutcome
from monitor.suites.results import (
    CheckResult,
    RunResult,
    ScenarioResult,
    SuiteResult,
    requests_from,
)

SUITE = "probe"


def _checks(outcome: ProbeOutcome) -> list[CheckResult]:
    kinds = (
        ["server_error", "lost_update"]
        if outcome.probe.kind == "updates"
        else ["server_error", "duplicates", "phantom", "counter_drift"]
    )
    out: list[CheckResult] = []
    for kind in kinds:
        found = [f for f in outcome.findings if f.kind == kind]
        title = f"no {KIND_TITLES[kind]}"
        if not found:
            out.append(CheckResult(title, True, "none", "none"))
            continue
        for f in found:
            out.append(
                CheckResult(
                    title,
                    False,
                    "none",
                    f.message,
                    message=f"{f.operation}: {f.message} — request: {f.request}",
                    evidence=list(f.evidence),
                )
            )
    return out


def scenario(outcome: ProbeOutcome) -> ScenarioResult:
    probe = outcome.probe
    name = f"{probe.name} ({probe.op.method} {probe.op.path})"
    description = (
        f"{outcome.request} — N identical requests together, compared with the same request "
        "twice in a row"
        if probe.kind == "repeat"
        else f"{outcome.request} — concurrent updates of different fields, read back"
    )
    result = ScenarioResult(
        name=name,
        suite=SUITE,
        status="passed",
        duration_s=outcome.duration_s,
        description=description,
    )
    if outcome.batch is not None:  # the concurrent batch: what the race was made of
        result.requests = requests_from(outcome.batch)
    result.state["requests_sent"] = outcome.requests
    if outcome.delivery is not None:
        result.state["delivery"] = outcome.delivery.to_dict()
    if outcome.replay:
        result.state["probe"] = outcome.replay
    if outcome.skipped is not None:
        result.status, result.skip_reason = "skipped", outcome.skipped
        result.description = f"{probe.op.method} {probe.op.path}"
        return result
    if outcome.error is not None:
        result.status = "error"
        result.checks = [
            CheckResult(
                "setup",
                False,
                "the probe's setup succeeds",
                outcome.error,
                message=outcome.error,
                status="error",
            )
        ]
        return result
    result.checks = _checks(outcome)
    unexercised = _unexercised(outcome)
    if unexercised is not None:
        result.checks.insert(0, unexercised)
    result.status = "failed" if outcome.findings else "error" if unexercised else "passed"
    return result


def _unexercised(outcome: ProbeOutcome) -> CheckResult | None:
    """An error when no request of the probe succeeded: nothing was raced, only server errors
    could be judged — a PASS would claim what was never tried."""
    replay = outcome.replay
    statuses = [*(replay.get("baseline") or []), *(replay.get("answers") or [])]
    if not statuses or any(s is not None and 200 <= s < 300 for s in statuses):
        return None
    counts = Counter("no answer" if s is None else f"HTTP {s}" for s in statuses)
    seen = ", ".join(f"{n}× {k}" for k, n in counts.most_common())
    said = " ".join(str(replay.get("second_body") or "").split())[:200]
    label = outcome.probe.op.label
    return CheckResult.error(
        "the probe exercised the operation",
        "at least one 2xx answer",
        f"{label}: none of its {len(statuses)} requests succeeded ({seen})"
        + (f"; the target said: {said}" if said else "")
        + " — nothing was raced, only server errors were judged (the operation needs what the "
        "document does not tell: a balance, a permission, a valid reference; or --exclude it)",
        observed=f"0 of {len(statuses)} succeeded ({seen})",
    )


def run_result(
    target: str, started: dt.datetime, outcomes: list[ProbeOutcome], seed: int | None
) -> RunResult:
    duration = (dt.datetime.now(dt.UTC) - started).total_seconds()
    suite = SuiteResult(SUITE, [scenario(o) for o in outcomes])
    return RunResult(
        target=target,
        started_at=started.isoformat().replace("+00:00", "Z"),
        duration_s=duration,
        suites=[suite],
        profile="openapi",
        seed=seed,
    )
