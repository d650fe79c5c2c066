"""Build histories and contexts for checker tests: concise, explicit timing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monitor.suites.checks import CheckContext, run_check
from monitor.suites.results import CheckResult
from monitor.suites.results.history import History, Op, Outcome


class Ops:
    """Appends ops with ids 0..n-1; by default all overlap (a concurrent phase)."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    def add(
        self,
        kind: str,
        *,
        user: str = "alice",
        args: Mapping[str, Any] | None = None,
        outcome: str = "ok",
        code: str | None = None,
        value: Any = None,
        at: float | None = None,
        ms: float = 10.0,
        status: int | None = None,
        error_kind: str | None = None,
    ) -> Op:
        invoked = at if at is not None else 0.001 * len(self.ops)
        out = Outcome(outcome)
        op = Op(
            id=len(self.ops),
            process=user,
            kind=kind,
            args=dict(args or {}),
            outcome=out,
            code=code or ("ok" if out is Outcome.OK else "transport"),
            value=value,
            invoked_at=invoked,
            completed_at=None if out is Outcome.UNKNOWN else invoked + ms / 1000.0,
            status=status if status is not None else (200 if out is Outcome.OK else None),
            latency_ms=ms,
            error="timeout after 2.0 s" if error_kind == "timeout" else None,
            error_kind=error_kind,
        )
        self.ops.append(op)
        return op

    def many(self, n: int, kind: str, **kw: Any) -> list[Op]:
        return [self.add(kind, **kw) for _ in range(n)]

    def history(self) -> History:
        return History(self.ops)

    def ctx(
        self,
        state: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        duration_s: float = 1.0,
    ) -> CheckContext:
        return CheckContext.build(self.ops, state=state, params=params, duration_s=duration_s)

    def check(
        self,
        name: str,
        state: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        /,
        **args: Any,
    ) -> CheckResult:
        return run_check(name, self.ctx(state, params), args)


def mentions(result: CheckResult, *ops: Op) -> bool:
    """Every op appears in the evidence (by its ``op#id``)."""
    text = "\n".join(result.evidence)
    return all(f"op#{op.id} " in text for op in ops)
