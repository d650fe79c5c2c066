"""What one logical operation did, and for whom: a ``Session`` (a user of the target) and a
``Call`` (canonical outcome, code and extracted value), which becomes a history ``Op``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.engine import RequestRecord
from monitor.suites.results.history import Op, Outcome


@dataclass(slots=True)
class Session:
    """A user of the target: credentials from ``register`` plus values saved for this user."""

    name: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Call:
    """What one logical operation did (one request, or a sequence of them)."""

    kind: str
    process: str
    args: Mapping[str, Any]
    outcome: Outcome
    code: str
    value: Any
    status: int | None
    invoked_at: float
    completed_at: float | None
    latency_ms: float
    error: str | None = None
    error_kind: str | None = None
    records: tuple[RequestRecord, ...] = ()
    detail: str | None = None  # the target's own words on a non-ok answer (for messages)
    body: str | None = None  # bounded response excerpt for evidence (``excerpt``)
    server_error: bool = False  # an HTTP 5xx, or an answer a profile rule declares a server error

    @property
    def unsent(self) -> bool:
        """A transport failure whose last request provably never reached the target whole
        (``RequestRecord.sent`` False: no connection, or closed while it was written), so it
        cannot have been applied: safe to send again whatever the method."""
        return self.code == "transport" and bool(self.records) and not self.records[-1].sent

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    def to_op(self, op_id: int) -> Op:
        """The history ``Op`` of this call."""
        return Op(
            id=op_id,
            process=self.process,
            kind=self.kind,
            args=self.args,  # no copy: a call's args are its own (100k+ ops in a load)
            outcome=self.outcome,
            code=self.code,
            value=self.value,
            invoked_at=self.invoked_at,
            completed_at=self.completed_at,
            status=self.status,
            latency_ms=self.latency_ms,
            error=self.error,
            error_kind=self.error_kind,
            body=self.body,
            declared_server_error=self.server_error,
        )
