"""The mutable state of one running scenario: sessions, saved values, the template context."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.suites.errors import ExpressionError, StepFailed
from monitor.suites.expressions.templates import compile_template
from monitor.suites.results.history import Outcome
from monitor.suites.run.call import Call, Session
from monitor.suites.run.client import ProfileClient

MAX_REGISTER_ATTEMPTS = 4


def member_view(session: Session | None) -> dict[str, Any]:
    """``${member.…}``: the acting group member — its ``name`` (``fans[2]``, the ``user`` of
    its ops in checks) and its saved values (``username``, ``user_id`` …; not the token)."""
    if session is None:
        return {}
    return {**{k: v for k, v in session.values.items() if k != "token"}, "name": session.name}


@dataclass(slots=True)
class ScenarioRun:
    """Everything a scenario's steps and phases share while it runs."""

    client: ProfileClient
    params: Mapping[str, Any]
    variables: Mapping[str, Any]
    rng: random.Random
    prefix: str  # user-name prefix, unique per run and scenario
    operations: frozenset[str] | None = None  # provided operations; None: every mapped one
    sync: str | None = None  # the scenario's `sync` (None: the run's --sync)
    sessions: dict[str, list[Session]] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    _users: int = 0

    def context(self, session: Session | None = None, index: int = 0) -> dict[str, Any]:
        """The template context: params, state, session, member, index, vars."""
        return {
            "params": self.params,
            "state": self.state,
            "session": session.values if session is not None else {},
            "member": member_view(session),
            "index": index,
            "vars": self.variables,
        }

    def render(self, value: Any, session: Session | None = None, index: int = 0) -> Any:
        return compile_template(value).render(self.context(session, index))

    def render_int(self, value: Any, what: str, minimum: int = 1) -> int:
        result = self.render(value)
        if isinstance(result, bool) or not isinstance(result, int | float) or result < minimum:
            raise ExpressionError(
                f"{what}: {value!r} gave {result!r}, expected an integer >= {minimum}"
            )
        return int(result)

    def render_float(self, value: Any, what: str) -> float:
        result = self.render(value)
        if isinstance(result, bool) or not isinstance(result, int | float) or result < 0:
            raise ExpressionError(f"{what}: {value!r} gave {result!r}, expected a number >= 0")
        return float(result)

    def provides(self, operation: str) -> bool:
        """Whether the profile provides ``operation`` (maps it and does not hide it)."""
        if self.operations is not None:
            return operation in self.operations
        return operation in self.client.profile.operations

    def members(self, user: str | None) -> Sequence[Session | None]:
        """The sessions a step acts as (one, a group, or none)."""
        if user is None:
            return [None]
        if user not in self.sessions:
            raise StepFailed(f"user {user!r} is not registered")
        return self.sessions[user]

    def next_username(self) -> str:
        self._users += 1
        return f"{self.prefix}-{self._users}"

    async def register(
        self, args: Mapping[str, Any], name: str, op: str = "register"
    ) -> tuple[Session, Call]:
        """Create a user with ``op`` (a session-creating operation); a taken generated name (a
        re-run with the same seed) gets a suffix."""
        given = "username" in args
        base = str(args["username"]) if given else self.next_username()
        call: Call | None = None
        for attempt in range(MAX_REGISTER_ATTEMPTS):
            username = base if attempt == 0 else f"{base}-r{attempt}"
            session = Session(name=name, values={"username": username})
            call = await self.client.call(op, {**args, "username": username}, session)
            if call.unsent:  # a stale connection found closed while writing: never applied
                call = await self.client.call(op, {**args, "username": username}, session)
            if call.outcome is Outcome.OK or given or call.code != "already_exists":
                return session, call
        assert call is not None
        return session, call
