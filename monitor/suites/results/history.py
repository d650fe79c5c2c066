"""Operation histories (Jepsen style): what each client asked for and what it learned.

An op is invoked, then completes ``ok`` or ``failed`` — or its outcome stays ``unknown`` (a timeout
or reset after the request was sent, or a response the profile declares ambiguous): an unknown op
may or may not have taken effect, and checkers must accept a state explained by any subset of them.

Times are monotonic seconds (``loop.time()``); only differences and order mean anything.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """What the client knows about an operation's effect."""

    OK = "ok"  # took effect
    FAILED = "failed"  # definitely did not take effect
    UNKNOWN = "unknown"  # may or may not have taken effect


@dataclass(frozen=True, slots=True)
class Op:
    """One operation of the concurrent phase (writes and the reads polled during it)."""

    id: int
    process: str  # the user / virtual process that issued it
    kind: str  # logical operation, e.g. "points.deduct"
    args: Mapping[str, Any]
    outcome: Outcome
    code: str  # canonical outcome code: "ok", "insufficient_points", "transport", ...
    value: Any = None  # what the profile extracted from the response
    invoked_at: float = 0.0
    completed_at: float | None = None  # None when the outcome is unknown
    status: int | None = None  # HTTP status; None without a response
    latency_ms: float | None = None  # measured duration; derived from the times when None
    error: str | None = None  # transport error message
    error_kind: str | None = None  # refused | reset | timeout | tls | malformed | other
    body: str | None = None  # bounded response excerpt shown as evidence (see run.evidence.excerpt)
    declared_server_error: bool = False  # a profile rule says this answer is a server error

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    @property
    def failed(self) -> bool:
        return self.outcome is Outcome.FAILED

    @property
    def unknown(self) -> bool:
        return self.outcome is Outcome.UNKNOWN

    @property
    def server_error(self) -> bool:
        """The target answered 5xx, or an answer the profile declares a server error (HTTP 200
        with ``{"code": 500}``): a server error, whatever outcome the profile gave it."""
        return self.declared_server_error or (self.status is not None and self.status >= 500)

    @property
    def duration_ms(self) -> float | None:
        """Measured latency, or completion minus invocation; None when neither is known."""
        if self.latency_ms is not None:
            return self.latency_ms
        if self.completed_at is None:
            return None
        return (self.completed_at - self.invoked_at) * 1000.0

    @property
    def timed_out(self) -> bool:
        return self.error_kind == "timeout"

    def describe(self) -> str:
        """One human-readable evidence line: who did what, what came back, and when."""
        args = ", ".join(f"{k}={_short(v)}" for k, v in self.args.items())
        result = self.code if self.code == self.outcome.value else f"{self.outcome} {self.code}"
        if self.status is not None:
            result += f" (HTTP {self.status})"
        if self.error:
            result += f" ({self.error})"
        if self.value is not None and self.ok and self.body is None:
            result += f" → {_short(self.value)}"
        end = "?" if self.completed_at is None else f"{self.completed_at:.3f}"
        line = f"op#{self.id} {self.process} {self.kind}({args}) {result} "
        line += f"[t={self.invoked_at:.3f}–{end}]"
        return line + (f" body: {self.body}" if self.body is not None else "")


def _short(value: Any, limit: int = 80) -> str:
    if isinstance(value, str | list | dict):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class OutcomeCounts:
    """How many ops ended each way, and the count per canonical code."""

    total: int = 0
    ok: int = 0
    failed: int = 0
    unknown: int = 0
    codes: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, ops: Iterable[Op]) -> OutcomeCounts:
        outcomes: Counter[Outcome] = Counter()
        codes: Counter[str] = Counter()
        for op in ops:
            outcomes[op.outcome] += 1
            codes[op.code] += 1
        return cls(
            total=sum(outcomes.values()),
            ok=outcomes[Outcome.OK],
            failed=outcomes[Outcome.FAILED],
            unknown=outcomes[Outcome.UNKNOWN],
            codes=dict(codes),
        )


class History:
    """The ops of one phase in invocation order, with the queries checkers need."""

    __slots__ = ("_by_kind", "ops")

    def __init__(self, ops: Iterable[Op] = ()) -> None:
        self.ops: tuple[Op, ...] = tuple(sorted(ops, key=lambda op: op.invoked_at))
        ids = [op.id for op in self.ops]
        if len(set(ids)) != len(ids):
            raise ValueError("op ids must be unique within a history")
        by_kind: dict[str, list[Op]] = {}
        for op in self.ops:
            by_kind.setdefault(op.kind, []).append(op)
        self._by_kind = {k: tuple(v) for k, v in by_kind.items()}

    def __iter__(self) -> Iterator[Op]:
        return iter(self.ops)

    def __len__(self) -> int:
        return len(self.ops)

    def __repr__(self) -> str:
        return f"History({len(self.ops)} ops, kinds={self.kinds()})"

    def kinds(self) -> list[str]:
        return list(self._by_kind)

    def by_kind(self, *kinds: str) -> tuple[Op, ...]:
        """Ops of any of ``kinds`` (all ops when none is given), in invocation order."""
        if not kinds:
            return self.ops
        if len(kinds) == 1:
            return self._by_kind.get(kinds[0], ())
        wanted = set(kinds)
        return tuple(op for op in self.ops if op.kind in wanted)

    def by_process(self, process: str) -> tuple[Op, ...]:
        return tuple(op for op in self.ops if op.process == process)

    def ok(self, *kinds: str) -> tuple[Op, ...]:
        return tuple(op for op in self.by_kind(*kinds) if op.ok)

    def failed(self, *kinds: str) -> tuple[Op, ...]:
        return tuple(op for op in self.by_kind(*kinds) if op.failed)

    def unknown(self, *kinds: str) -> tuple[Op, ...]:
        return tuple(op for op in self.by_kind(*kinds) if op.unknown)

    def counts(self, *kinds: str) -> OutcomeCounts:
        return OutcomeCounts.of(self.by_kind(*kinds))

    @staticmethod
    def precedes(a: Op, b: Op) -> bool:
        """Real-time precedence: ``a`` completed before ``b`` was invoked."""
        return a.completed_at is not None and a.completed_at < b.invoked_at
