"""A profile's requests: operation + args + session -> engine ``RequestSpec``, through the
profile's compiled path, query, body and header templates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from monitor.engine import RequestSpec
from monitor.suites.errors import ExpressionError
from monitor.suites.expressions.names import PROFILE_TEMPLATE_NAMES
from monitor.suites.expressions.templates import Template, compile_template, names_used
from monitor.suites.profile.models import HttpOperation, Profile
from monitor.suites.profile.operations import OPERATIONS
from monitor.suites.run.call import Session


@dataclass(frozen=True, slots=True)
class _Compiled:
    op: HttpOperation
    path: Template
    query: Template
    body: Template
    headers: Template


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: v for k, v in value.items() if v is not None}
    return value


def _query_text(query: Mapping[str, Any]) -> str:
    pairs = []
    for key, value in query.items():
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        pairs.append((key, text))
    return urlencode(pairs)


class RequestBuilder:
    """Builds the HTTP requests of a profile's single-request operations."""

    def __init__(self, profile: Profile, variables: Mapping[str, Any] | None = None) -> None:
        self.profile = profile
        self.variables = dict(variables or {})
        self._auth = compile_template(profile.auth.value)
        self._headers = compile_template(profile.headers)
        self._compiled: dict[str, _Compiled] = {}
        self._arg_names: dict[str, set[str]] = {}
        for name, op in profile.operations.items():
            if isinstance(op, HttpOperation):
                parts = [op.path, op.query, op.body, op.headers]
                self._arg_names[name] = names_used(parts, "args") - PROFILE_TEMPLATE_NAMES
                self._compiled[name] = _Compiled(
                    op,
                    compile_template(op.path),
                    compile_template(op.query),
                    compile_template(op.body),
                    compile_template(op.headers),
                )

    def method(self, kind: str) -> str | None:
        """The HTTP method of a single-request operation (None for a sequence)."""
        compiled = self._compiled.get(kind)
        return compiled.op.method if compiled is not None else None

    def route(self, kind: str) -> str | None:
        """``POST /rewards/buy``: the method and path template the profile maps ``kind`` to."""
        compiled = self._compiled.get(kind)
        if compiled is None:
            return None
        return f"{compiled.op.method} {self.profile.base_path}{compiled.op.path}"

    def is_single_request(self, kind: str) -> bool:
        """True when the operation is one HTTP request (it can join a barrier batch)."""
        return kind in self._compiled

    def context(
        self, kind: str, args: Mapping[str, Any], session: Session | None
    ) -> dict[str, Any]:
        """What the templates of operation ``kind`` see: its arguments (every one it names,
        None when not given), ``args``, ``session`` and ``vars``."""
        known = OPERATIONS[kind].args if kind in OPERATIONS else ()
        full = dict.fromkeys((*known, *self._arg_names.get(kind, ())), None)
        full.update(args)
        values = session.values if session is not None else {}
        return {**full, "args": full, "session": values, "vars": self.variables}

    def build(self, kind: str, args: Mapping[str, Any], session: Session | None) -> RequestSpec:
        """The HTTP request of a single-request operation (raises ``ExpressionError``)."""
        compiled = self._compiled[kind]
        ctx = self.context(kind, args, session)
        rendered = compiled.path.render(ctx)
        if rendered is None:
            raise ExpressionError(
                f"operation {kind!r}: a path argument is missing ({compiled.op.path})"
            )
        path = self.profile.base_path + str(rendered)
        query = _query_text(compiled.query.render(ctx))
        if query:
            path += ("&" if "?" in path else "?") + query
        headers = {k: str(v) for k, v in self._headers.render(ctx).items() if v not in (None, "")}
        if compiled.op.auth:
            if session is None:
                raise ExpressionError(
                    f"operation {kind!r} is sent with credentials (the profile's `auth`): give "
                    "its step or phase op a `user:`, or mark it `auth: false` in the profile"
                )
            headers[self.profile.auth.header] = str(self._auth.render(ctx))
        for key, value in compiled.headers.render(ctx).items():
            if value not in (None, ""):
                headers[key] = str(value)
        body = _drop_nulls(compiled.body.render(ctx)) if compiled.op.body is not None else None
        return RequestSpec(
            method=compiled.op.method,
            path=path,
            json=body,
            headers=headers,
            name=kind,
            timeout=compiled.op.timeout_s or self.profile.timeout_s,
        )
