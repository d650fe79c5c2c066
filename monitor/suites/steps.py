"""Setup and read-back steps: profile operations run one after another, values saved by name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitor.suites.client import Call, Session
from monitor.suites.errors import StepFailed
from monitor.suites.models import Step
from monitor.suites.scenario_run import ScenarioRun


def _fail(section: str, index: int, step: Step, call: Call) -> StepFailed:
    who = f" as {step.user}" if step.user else ""
    got = call.code + (f" ({call.error})" if call.error else "")
    status = f", HTTP {call.status}" if call.status is not None else ""
    said = f" ({call.detail})" if call.detail else ""
    expected = " or ".join(step.expect)
    return StepFailed(
        f"{section}[{index}] {step.op}{who}: got {got}{status}{said}, expected {expected}"
    )


async def _register(run: ScenarioRun, section: str, index: int, step: Step) -> None:
    count = run.render_int(step.count, f"{section}[{index}].count")
    name = step.save or f"user{index}"
    sessions: list[Session] = []
    for i in range(count):
        args = run.render(step.args, None, i)
        session, call = await run.register(args, name if count == 1 else f"{name}[{i}]")
        if call.code not in step.expect:
            raise _fail(section, index, step, call)
        sessions.append(session)
    run.sessions[name] = sessions
    values = [{k: v for k, v in s.values.items() if k != "token"} for s in sessions]
    run.state[name] = values[0] if count == 1 else values


async def run_step(run: ScenarioRun, section: str, index: int, step: Step) -> None:
    """Run one step (for every member of its user group, ``count`` times each)."""
    if step.op == "register":
        await _register(run, section, index, step)
        return
    count = run.render_int(step.count, f"{section}[{index}].count")
    members = run.members(step.user)
    saved: list[Any] = []
    keyed: dict[str, Any] = {}
    for session in members:
        mine: list[Any] = []
        for i in range(count):
            args = run.render(step.args, session, i)
            call = await run.client.call(step.op, args, session)
            if call.code not in step.expect:
                raise _fail(section, index, step, call)
            mine.append(call.value)
        value = mine[0] if count == 1 else mine
        if step.save and session is not None:
            session.values[step.save] = value
        saved.append(value)
        if step.key is not None:
            keyed[str(run.render(step.key, session))] = value
    if step.save:
        if step.key is not None:
            run.state[step.save] = keyed
        else:
            run.state[step.save] = saved[0] if len(members) == 1 else saved


async def run_steps(run: ScenarioRun, section: str, steps: Sequence[Step]) -> None:
    """Run steps in order; the first unexpected outcome raises ``StepFailed``."""
    for index, step in enumerate(steps):
        if step.optional and not run.provides(step.op):
            continue  # the checks that need its value are not applicable
        await run_step(run, section, index, step)
