"""Run one fault action for a duration, and always revert it.

:meth:`ActionEngine.run` asks the guards, journals the action, injects it, keeps it for the
step's duration (or until ``abort`` is set), reverts it (on the normal end, on abort, on
cancellation, on an inject that failed half-way) and then removes it from the journal. A
revert that fails leaves the entry in the journal (``soakmon chaos revert`` retries it).
Each action is logged, traced (one span from inject to revert) and published on the bus
(``ChaosActionStarted``/``ChaosActionEnded``). At most ``max_concurrent`` actions are
active at once per engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from monitor.chaos import guards
from monitor.chaos.action import Action, ActionContext, Record
from monitor.chaos.errors import ActionError
from monitor.chaos.journal import Entry, Journal
from monitor.chaos.registry import build_action
from monitor.events import ChaosActionEnded, ChaosActionStarted, EventBus

log = logging.getLogger(__name__)

REVERT_TIMEOUT_S = 60.0
"""Upper bound on one revert (then it is left in the journal for a retry)."""


@dataclass(slots=True)
class ActionRun:
    """What happened to one action."""

    id: str
    name: str
    kind: str
    target: str
    description: str
    result: str = "pending"
    """ok | aborted | failed (inject failed) | revert-failed | refused | dry-run | skipped"""
    started_at: float | None = None
    injected_at: float | None = None
    reverted_at: float | None = None
    error: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    measured: dict[str, float] = field(default_factory=dict)
    """What the action measured (``record["measured"]``: e.g. ``recovered_after_s``)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "kind": self.kind, "target": self.target,
            "description": self.description, "result": self.result,
            "started_at": self.started_at, "injected_at": self.injected_at,
            "reverted_at": self.reverted_at, "error": self.error, "params": self.params,
            "measured": self.measured,
        }  # fmt: skip


class ActionEngine:
    """Runs actions with the journal, the guards, the bus and a tracer."""

    def __init__(
        self,
        journal: Journal,
        *,
        bus: EventBus | None = None,
        policy: guards.Policy | None = None,
        max_concurrent: int = 4,
        dry_run: bool = False,
        tracer: trace.Tracer | None = None,
        revert_timeout_s: float = REVERT_TIMEOUT_S,
    ) -> None:
        self.journal = journal
        self.bus = bus
        self.policy = policy or guards.Policy()
        self.dry_run = dry_run
        self.tracer = tracer or trace.get_tracer("soakmon.chaos")
        self.revert_timeout_s = revert_timeout_s
        self._slots = asyncio.Semaphore(max_concurrent)
        self.active: dict[str, ActionRun] = {}

    async def run(
        self,
        action: Action[Any],
        ctx: ActionContext,
        *,
        duration_s: float,
        name: str = "",
        abort: asyncio.Event | None = None,
    ) -> ActionRun:
        """Inject ``action`` for ``duration_s`` (less when ``abort`` is set), then revert."""
        if ctx.duration_s is None:
            ctx = dataclasses.replace(ctx, duration_s=duration_s)
        params = action.settings.model_dump(mode="json")
        run = ActionRun(ctx.id, name or action.kind, action.kind, ctx.target, action.describe())
        run.params = params
        try:
            guards.check(action, self.policy)
        except ActionError as exc:  # pragma: no cover - guards raise Refused
            run.result, run.error = "refused", str(exc)
            return run
        if self.dry_run:
            run.result = "dry-run"
            log.info("chaos dry run %s: would %s for %.1fs", ctx.id, run.description, duration_s)
            return run
        async with self._slots:
            if abort is not None and abort.is_set():
                run.result, run.error = "skipped", "the experiment was aborted before it"
                return run
            return await self._run(action, ctx, run, duration_s, abort)

    async def _run(
        self,
        action: Action[Any],
        ctx: ActionContext,
        run: ActionRun,
        duration_s: float,
        abort: asyncio.Event | None,
    ) -> ActionRun:
        record: Record = await action.prepare(ctx)
        guards.check(action, self.policy, record)
        self.journal.add(
            Entry(ctx.id, action.kind, ctx.target, ctx.experiment, run.params, dict(record))
        )
        run.started_at = time.time()
        self.active[ctx.id] = run
        log.warning("chaos %s: injecting %s (%s) for %.1fs", ctx.id, action.kind,
                    run.description, duration_s)  # fmt: skip
        params = {**run.params, "description": run.description}
        started = ChaosActionStarted(ctx.id, action.kind, ctx.target, run.started_at, params)
        await self._emit(started)
        with self.tracer.start_as_current_span(f"chaos {action.kind}") as span:
            span.set_attribute("soakmon.chaos.action", ctx.id)
            span.set_attribute("soakmon.chaos.kind", action.kind)
            span.set_attribute("soakmon.chaos.target", ctx.target)
            span.set_attribute("soakmon.chaos.description", run.description)
            try:
                await action.inject(ctx, record)
                run.injected_at = time.time()
                self.journal.update(ctx.id, record=record, state="injected")
                run.result = "ok"
                await _hold(duration_s, abort)
                if abort is not None and abort.is_set():
                    run.result = "aborted"
            except asyncio.CancelledError:
                run.result, run.error = "aborted", "cancelled"
                raise
            except Exception as exc:  # inject failed: still revert what it may have done
                run.result, run.error = "failed", f"inject failed: {_text(exc)}"
            finally:
                await _finish(self._revert(action, ctx, record, run))
                if run.error:
                    span.set_status(Status(StatusCode.ERROR, run.error))
                span.set_attribute("soakmon.chaos.result", run.result)
                self.active.pop(ctx.id, None)
                log.warning("chaos %s: %s ended: %s%s", ctx.id, action.kind, run.result,
                            f" ({run.error})" if run.error else "")  # fmt: skip
                await self._emit(
                    ChaosActionEnded(ctx.id, action.kind, ctx.target, run.started_at,
                                     time.time(), run.error, run.result)
                )  # fmt: skip
        return run

    async def _revert(
        self, action: Action[Any], ctx: ActionContext, record: Record, run: ActionRun
    ) -> None:
        try:
            limit = action.revert_timeout_s or self.revert_timeout_s
            await asyncio.wait_for(action.revert(ctx, record), limit)
        except Exception as exc:
            run.result = "revert-failed"
            run.error = f"revert failed (left in the journal): {_text(exc)}"
            log.error("chaos %s: %s", ctx.id, run.error)
            return
        finally:
            run.measured = dict(record.get("measured") or {})
        run.reverted_at = time.time()
        self.journal.remove(ctx.id)

    async def _emit(self, event: ChaosActionStarted | ChaosActionEnded) -> None:
        if self.bus is not None:
            await self.bus.emit(event)


async def _hold(duration_s: float, abort: asyncio.Event | None) -> None:
    if abort is None:
        await asyncio.sleep(duration_s)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(abort.wait(), duration_s)


async def _finish(coro: Any) -> None:
    """Run ``coro`` to the end even when the caller is cancelled meanwhile (then re-raise)."""
    task = asyncio.ensure_future(coro)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise


def _text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


async def revert_entries(journal: Journal, entries: list[Entry]) -> list[tuple[Entry, str | None]]:
    """Revert journaled entries (a previous run's orphans): rebuild each action from its kind
    and settings and call ``revert``; remove the entries that reverted. Returns each entry with
    its error (None when reverted)."""
    out: list[tuple[Entry, str | None]] = []
    for entry in entries:
        try:
            action = build_action(entry.kind, entry.settings)
            ctx = ActionContext(entry.id, entry.target, entry.experiment)
            limit = action.revert_timeout_s or REVERT_TIMEOUT_S
            await asyncio.wait_for(action.revert(ctx, dict(entry.record)), limit)
        except Exception as exc:
            log.error("chaos %s: revert of %s failed: %s", entry.id, entry.kind, _text(exc))
            out.append((entry, _text(exc)))
            continue
        log.warning("chaos %s: reverted %s left by a previous run", entry.id, entry.kind)
        journal.remove(entry.id)
        out.append((entry, None))
    return out


__all__ = ["ActionEngine", "ActionRun", "revert_entries"]
