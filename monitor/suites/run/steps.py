"""Setup and read-back steps: profile operations run one after another, values saved by name.

Three steps are built in: ``register`` (a new user and session); ``fund`` (``args: {amount,
minimum}``: bring the user's balance to at least ``amount`` with whatever the profile offers, in
this order: ``points.add``, the welcome gift, completing tasks — accepted down to ``minimum``,
default ``amount``, when they run dry; ``save`` keeps ``{balance}`` as read back);
``stock`` (``args: {reward, quantity, price, minimum}``: bring the user's quantity of ``reward``
to at least ``quantity``, in this order: ``rewards.grant``, ``rewards.buy`` after funding
``price`` points per missing item, the welcome gift's items — accepted when they reach
``minimum``, default ``quantity``; ``save`` keeps ``{reward, quantity}`` as read back).

``fund`` and ``stock`` judge by reading back, not by the answers: a write that answered a server
error (a service that commits and then answers 500, or HTTP 200 with ``{"code": 500}``) counts
when the balance or quantity read back shows it happened. A read (an operation the profile maps
to GET or HEAD) that lost its connection before any answer ("server disconnected": a stale
keep-alive connection) is sent once more. A write (``register``'s POST …) is sent once more only
when the request provably never left whole: the connection was found closed while its body
was being written (aiohttp: "Can not write request body"; the engine records ``sent=False``).
A write that was written whole and then lost its connection ("server disconnected") is not: a
server that applies it and then drops the connection gives the client exactly that error, as
does one that closed the idle connection unread (``tests/targets/test_stale_connection.py``)
— RFC 9112 §9.3.1; aiohttp itself retries only idempotent methods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from monitor.suites.errors import RouteUnknown, StepFailed
from monitor.suites.profile.capabilities import FUND, STOCK, funding_routes, stock_routes
from monitor.suites.results.history import Outcome
from monitor.suites.run.call import Call, Session
from monitor.suites.run.scenario_run import ScenarioRun
from monitor.suites.suite.models import Step


def _route(run: ScenarioRun, where: str, op: str, call: Call) -> RouteUnknown | None:
    message = run.client.route_message(op, [call])
    return RouteUnknown(f"{where}: {message}") if message else None


def _fail(run: ScenarioRun, section: str, index: int, step: Step, call: Call) -> StepFailed:
    who = f" as {step.user}" if step.user else ""
    unknown = _route(run, f"{section}[{index}] {step.op}{who}", step.op, call)
    if unknown is not None:
        return unknown
    got = call.code + (f" ({call.error})" if call.error else "")
    status = f", HTTP {call.status}" if call.status is not None else ""
    said = f" ({call.detail})" if call.detail else ""
    expected = " or ".join(step.expect)
    return StepFailed(
        f"{section}[{index}] {step.op}{who}: got {got}{status}{said}, expected {expected}"
    )


def _idempotent(run: ScenarioRun, op: str) -> bool:
    return run.client.method(op) in ("GET", "HEAD")


async def call_step(
    run: ScenarioRun, op: str, args: Mapping[str, Any], session: Session | None
) -> Call:
    """One step's call; a read that got no answer at all (a stale keep-alive connection the
    server had closed), or any request that provably never left whole, is sent once more."""
    call = await run.client.call(op, args, session)
    if call.code == "transport" and (_idempotent(run, op) or call.unsent):
        call = await run.client.call(op, args, session)
    return call


async def _register(run: ScenarioRun, section: str, index: int, step: Step) -> None:
    count = run.render_int(step.count, f"{section}[{index}].count")
    name = step.save or f"user{index}"
    sessions: list[Session] = []
    for i in range(count):
        args = run.render(step.args, None, i)
        who = name if count == 1 else f"{name}[{i}]"
        session, call = await run.register(args, who, step.op)
        if call.code not in step.expect:
            raise _fail(run, section, index, step, call)
        sessions.append(session)
    run.sessions[name] = sessions
    values = [run.client.public(s.values) for s in sessions]
    run.state[name] = values[0] if count == 1 else values


async def run_step(run: ScenarioRun, section: str, index: int, step: Step) -> None:
    """Run one step (for every member of its user group, ``count`` times each)."""
    if run.client.creates_session(step.op):
        await _register(run, section, index, step)
        return
    if step.op == FUND:
        await _fund_step(run, section, index, step)
        return
    if step.op == STOCK:
        await _stock_step(run, section, index, step)
        return
    count = run.render_int(step.count, f"{section}[{index}].count")
    members = run.members(step.user)
    saved: list[Any] = []
    keyed: dict[str, Any] = {}
    for session in members:
        mine: list[Any] = []
        for i in range(count):
            args = run.render(step.args, session, i)
            call = await call_step(run, step.op, args, session)
            if call.code not in step.expect:
                raise _fail(run, section, index, step, call)
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


#: Most tasks completed to earn points when the profile has no ``points.add``.
MAX_FUNDING_TASKS = 60


async def _balance(run: ScenarioRun, session: Session | None, where: str) -> int:
    call = await call_step(run, "points.balance", {}, session)
    value = call.value.get("balance") if isinstance(call.value, dict) else None
    if call.code != "ok" or isinstance(value, bool) or not isinstance(value, int | float):
        raise StepFailed(f"{where}: points.balance: got {call.code} ({call.detail or value!r})")
    return int(value)


async def _expect(
    run: ScenarioRun,
    op: str,
    args: dict[str, Any],
    session: Session | None,
    *,
    where: str,
    accept: tuple[str, ...] = ("ok",),
    read_back: bool = False,
) -> Call:
    """Run ``op``; an outcome outside ``accept`` raises ``StepFailed`` — except, with
    ``read_back``, a server error or an unknown outcome: the caller reads back whether the
    write happened (a service may commit and then answer 500)."""
    call = await call_step(run, op, args, session)
    if read_back and (call.server_error or call.outcome is Outcome.UNKNOWN):
        return call
    if call.code not in accept:
        unknown = _route(run, where, op, call)
        if unknown is not None:
            raise unknown
        said = f" ({call.detail})" if call.detail else ""
        raise StepFailed(f"{where}: {op}: got {call.code}{said}, expected {' or '.join(accept)}")
    return call


async def fund(
    run: ScenarioRun,
    session: Session | None,
    amount: int,
    where: str,
    minimum: int | None = None,
) -> int:
    """Bring the user's balance to at least ``amount`` through ``funding_routes``; returns the
    balance read back (it may exceed ``amount``: a gift or bonus comes in whole). When the
    routes run dry first, a balance of at least ``minimum`` (default ``amount``) still does."""
    routes = funding_routes(run.provides)
    if not routes:
        raise StepFailed(
            f"{where}: no way to fund: the profile maps neither points.add, nor gift.claim, "
            "nor tasks.create + tasks.complete (and points.balance)"
        )
    balance = await _balance(run, session, where)
    if balance < amount and "points.add" in routes:
        args = {"amount": amount - balance, "reason": "setup"}
        await _expect(run, "points.add", args, session, where=where, read_back=True)
        balance = await _balance(run, session, where)
    if balance < amount and "gift.claim" in routes:
        accept = ("ok", "already_claimed")
        await _expect(run, "gift.claim", {}, session, where=where, accept=accept, read_back=True)
        balance = await _balance(run, session, where)
    done = 0
    while balance < amount and "tasks.complete" in routes and done < MAX_FUNDING_TASKS:
        title = {"title": f"funding {done}"}
        task = await _expect(run, "tasks.create", title, session, where=where)
        task_id = task.value.get("id") if isinstance(task.value, dict) else None
        args = {"task_id": task_id}
        await _expect(run, "tasks.complete", args, session, where=where, read_back=True)
        done += 1
        before, balance = balance, await _balance(run, session, where)
        if balance <= before and done >= 2:
            break  # completions pay nothing here
    if balance < (amount if minimum is None else minimum):
        raise StepFailed(
            f"{where}: could fund only {balance} of {amount} points via {', '.join(routes)}"
        )
    return balance


async def _fund_step(run: ScenarioRun, section: str, index: int, step: Step) -> None:
    where = f"{section}[{index}] fund"
    amount = run.render_int(step.args.get("amount", 0), f"{where}.amount", minimum=0)
    least = run.render_int(step.args.get("minimum", amount), f"{where}.minimum", minimum=0)
    saved = []
    for session in run.members(step.user):
        who = f" as {step.user}" if step.user else ""
        balance = await fund(run, session, amount, where + who, least)
        value = {"balance": balance}
        if step.save and session is not None:
            session.values[step.save] = value
        saved.append(value)
    if step.save:
        run.state[step.save] = saved[0] if len(saved) == 1 else saved


async def _quantity(run: ScenarioRun, session: Session | None, reward: str, where: str) -> int:
    call = await _expect(run, "rewards.list", {}, session, where=where)
    rows = call.value if isinstance(call.value, list) else None
    if rows is None:
        raise StepFailed(f"{where}: rewards.list: got {call.value!r}, expected a list")
    total = 0
    for row in rows:
        if isinstance(row, dict) and str(row.get("reward")) == reward:
            value = row.get("quantity")
            if isinstance(value, int | float) and not isinstance(value, bool):
                total += int(value)
    return total


async def stock(
    run: ScenarioRun,
    session: Session | None,
    reward: str,
    quantity: int,
    *,
    price: int | None,
    minimum: int,
    where: str,
) -> int:
    """Bring the user's quantity of ``reward`` to at least ``quantity`` through
    ``stock_routes``; returns the quantity read back (the gift route may stop at ``minimum``)."""
    routes = stock_routes(run.provides)
    if not routes:
        raise StepFailed(
            f"{where}: no way to stock {reward}: the profile maps neither rewards.grant, nor "
            "rewards.buy with a way to fund, nor gift.claim (and rewards.list)"
        )
    have = await _quantity(run, session, reward, where)
    if have < quantity and "rewards.grant" in routes:
        args = {"reward": reward, "quantity": quantity - have}
        await _expect(run, "rewards.grant", args, session, where=where, read_back=True)
        have = await _quantity(run, session, reward, where)
    if have < quantity and "rewards.buy" in routes and price is not None:
        balance = await _balance(run, session, where)
        await fund(run, session, balance + price * (quantity - have), where)
        have = await _quantity(run, session, reward, where)  # the gift may hold some
        for _ in range(quantity - have):
            args = {"reward": reward}
            await _expect(run, "rewards.buy", args, session, where=where, read_back=True)
        have = await _quantity(run, session, reward, where)
    if have < quantity and "gift.claim" in routes:
        accept = ("ok", "already_claimed")
        await _expect(run, "gift.claim", {}, session, where=where, accept=accept, read_back=True)
        have = await _quantity(run, session, reward, where)
    if have < minimum:
        raise StepFailed(
            f"{where}: could stock only {have} of {quantity} {reward} via {', '.join(routes)}"
            + ("" if price is not None or "rewards.buy" not in routes else " (no price to buy)")
        )
    return have


async def _stock_step(run: ScenarioRun, section: str, index: int, step: Step) -> None:
    where = f"{section}[{index}] stock"
    reward = str(run.render(step.args.get("reward", "")))
    if not reward:
        raise StepFailed(f"{where}: args.reward is empty")
    quantity = run.render_int(step.args.get("quantity", 1), f"{where}.quantity")
    price = (
        run.render_int(step.args["price"], f"{where}.price", minimum=0)
        if step.args.get("price") is not None
        else None
    )
    minimum = run.render_int(step.args.get("minimum", quantity), f"{where}.minimum", minimum=0)
    saved = []
    for session in run.members(step.user):
        who = f" as {step.user}" if step.user else ""
        have = await stock(
            run, session, reward, quantity, price=price, minimum=minimum, where=where + who
        )
        value = {"reward": reward, "quantity": have}
        if step.save and session is not None:
            session.values[step.save] = value
        saved.append(value)
    if step.save:
        run.state[step.save] = saved[0] if len(saved) == 1 else saved


async def run_steps(run: ScenarioRun, section: str, steps: Sequence[Step]) -> None:
    """Run steps in order; the first unexpected outcome raises ``StepFailed``."""
    for index, step in enumerate(steps):
        if step.optional and not run.provides(step.op):
            continue  # the checks that need its value are not applicable
        await run_step(run, section, index, step)
