"""Outcome rules from the documented status codes and error schemas (pure)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from monitor.openapi.model import Api, ApiOperation
from monitor.suites.profile.operations import OUTCOMES

CODE_FIELDS = ("error", "code", "error_code", "errorCode", "type", "reason")
STATUS_NAMES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    410: "gone",
    412: "version_conflict",
    422: "invalid_request",
    429: "retry_later",
}
OWN_MEANINGS = {
    "forbidden": "the caller may not do this (HTTP 403)",
    "conflict": "the request conflicts with the current state (HTTP 409)",
    "gone": "the resource was deleted (HTTP 410)",
}
_CODE_IN_TEXT = re.compile(r"\(([a-z][a-z0-9_]*(?:,\s*[a-z][a-z0-9_]*)*)\)|\b([a-z]+_[a-z_]+)\b")


@dataclass(slots=True)
class OutcomePlan:
    """Profile-wide rules, per-operation rules and the names they introduce."""

    code_field: str | None
    rules: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    per_op: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _error_schemas(op: ApiOperation) -> list[tuple[int, dict[str, Any]]]:
    out = []
    for status in op.responses:
        if status.isdigit() and int(status) >= 400:
            schema = op.response_schema(status)
            if schema:
                out.append((int(status), schema))
    return out


def _code_field(api: Api) -> tuple[str | None, str]:
    seen: Counter[str] = Counter()
    total = 0
    for op in api.operations:
        for _, schema in _error_schemas(op):
            total += 1
            props = schema.get("properties") or {}
            for name in CODE_FIELDS:
                if name in props:
                    seen[name] += 1
                    break
    if not seen:
        return None, "no error schema names a code field"
    name, count = seen.most_common(1)[0]
    return name, f"{count} of {total} documented error answers carry a {name!r} field"


def _codes_in(text: str) -> list[str]:
    names: list[str] = []
    for group, single in _CODE_IN_TEXT.findall(text):
        names.extend(n.strip() for n in (group.split(",") if group else [single]) if n.strip())
    return names


def plan_outcomes(api: Api, names: dict[ApiOperation, str]) -> OutcomePlan:
    """Rules: 5xx server_error (unknown); codes from the body when the error schema has one;
    otherwise per-operation status rules named after the status."""
    code_field, why = _code_field(api)
    plan = OutcomePlan(code_field)
    documented = {int(s) for op in api.operations for s in op.responses if s.isdigit()}
    if code_field is not None:
        plan.notes.append(f"GUESS: error answers name their outcome in `{code_field}` ({why})")
        for code_status in sorted(s for s in documented if s >= 500):
            texts = [
                str(op.responses[str(code_status)].get("description", ""))
                for op in api.operations
                if str(code_status) in op.responses
            ]
            codes = {c for t in texts for c in _codes_in(t)}
            if codes:
                plan.rules.append({"status": code_status, "outcome_from": code_field})
                plan.notes.append(
                    f"GUESS: HTTP {code_status} is documented as {', '.join(sorted(codes))}: "
                    "a known outcome (nothing written), not an unexplained server error"
                )
        plan.rules.append({"status": "5xx", "outcome": "server_error", "unknown": True})
        plan.rules.append({"status": "4xx", "outcome_from": code_field})
        for op in api.operations:
            for status in op.responses:
                if status.isdigit() and int(status) >= 400:
                    text = str(op.responses[status].get("description", ""))
                    for code in _codes_in(text):
                        if code not in OUTCOMES:
                            plan.names.setdefault(code, text.strip()[:100] or f"HTTP {status}")
        return plan
    plan.notes.append(f"error answers carry no code field ({why}): outcomes named by status")
    plan.rules.append({"status": "5xx", "outcome": "server_error", "unknown": True})
    for op in api.operations:
        rules: list[dict[str, Any]] = []
        for status in sorted(op.responses):
            if status.isdigit() and 400 <= int(status) < 500 and int(status) in STATUS_NAMES:
                name = STATUS_NAMES[int(status)]
                rules.append({"status": int(status), "outcome": name})
                if name in OWN_MEANINGS:
                    plan.names[name] = OWN_MEANINGS[name]
        if rules:
            plan.per_op[names[op]] = rules
    return plan
