"""Reading an answer: an engine ``RequestRecord`` -> a ``Call`` (canonical outcome by the
profile's outcome rules, code, extracted value and evidence), saving session values and cookies
of a successful one."""

from __future__ import annotations

import json
from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie
from typing import Any

from monitor.engine import RequestRecord
from monitor.suites.profile.models import HttpOperation, Profile, series_of
from monitor.suites.profile.outcomes import classify, parse_prometheus, search
from monitor.suites.results.history import Outcome
from monitor.suites.run.call import Call, Session
from monitor.suites.run.evidence import detail, excerpt, last_line, text_excerpt


def interpret(
    kind: str,
    args: Mapping[str, Any],
    session: Session | None,
    record: RequestRecord,
    *,
    profile: Profile,
    op: HttpOperation,
) -> Call:
    """Map one record of operation ``kind`` (``op``) to a ``Call``; on success, session values
    are saved (``register``)."""
    process = session.name if session is not None else "-"
    completed = record.start + record.duration_ms / 1000.0
    base: dict[str, Any] = {
        "kind": kind,
        "process": process,
        "args": dict(args),
        "status": record.status,
    }
    # a synchronised request was invoked when its first bytes left (the server may act on
    # it from then), not at its release: ordering checks must not think it started later
    invoked = record.start if record.invoked is None else min(record.invoked, record.start)
    base |= {"invoked_at": invoked, "latency_ms": record.duration_ms}
    if record.error is not None or record.status is None:
        outcome = Outcome.UNKNOWN if record.sent else Outcome.FAILED
        return Call(
            outcome=outcome, code="transport", value=None,
            completed_at=None if record.sent else completed,
            error=record.error, error_kind=record.error_kind, records=(record,), **base,
        )  # fmt: skip
    body = _body(profile, op, record)
    raw = (record.body or b"") if body is None and op.format == "json" else b""
    cookies = {k: set_cookie(record.headers, c) for k, c in op.session_cookies.items()}
    record.body = record.headers = None  # parsed: keep long runs' memory flat
    verdict = classify([*op.outcomes, *profile.outcomes], record.status, body)
    if verdict.unknown:
        outcome = Outcome.UNKNOWN
    else:
        outcome = Outcome.OK if verdict.code == "ok" else Outcome.FAILED
    value, said, shown = None, None, excerpt(op, outcome is Outcome.OK, body)
    if outcome is not Outcome.OK:
        said = detail(body) if body is not None else last_line(raw)
        shown = shown if body is not None else text_excerpt(raw)
    if outcome is Outcome.OK:
        value = search(op.extract, body) if op.extract else body
        if session is not None:
            for key, expr in op.session.items():
                session.values[key] = search(expr, body)
            session.values.update(cookies)
    return Call(
        outcome=outcome, code=verdict.code, value=value,
        completed_at=None if outcome is Outcome.UNKNOWN else completed,
        records=(record,), detail=said, body=shown, server_error=verdict.server_error,
        **base,
    )  # fmt: skip


def _body(profile: Profile, op: HttpOperation, record: RequestRecord) -> Any:
    if op.format == "prometheus":
        series = {k: series_of(v) for k, v in profile.metrics.items()}
        mapping = {k: (m.series, m.labels) for k, m in series.items()}
        return parse_prometheus((record.body or b"").decode("utf-8", "replace"), mapping)
    if not record.body:
        return None
    try:
        return json.loads(record.body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # not JSON, or nested past
        return None  # what Python's parser can hold: the outcome rules see no body


def set_cookie(headers: Mapping[str, str] | None, name: str) -> str | None:
    """The value the answer's ``Set-Cookie`` headers give cookie ``name`` (None: not set)."""
    getall = getattr(headers, "getall", None)
    values = getall("Set-Cookie", []) if getall is not None else []
    for raw in values:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(raw)
        except CookieError:
            continue
        if name in jar:
            return jar[name].value
    return None
