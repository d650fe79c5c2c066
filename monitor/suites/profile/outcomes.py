"""Response -> canonical outcome: the profile's rules, pure functions over status and body."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

from monitor.suites.profile.models import OutcomeRule, StatusMatch

MAX_JMESPATH_LENGTH = 2000
MAX_JMESPATH_DEPTH = 64
"""Deepest JMESPath tree compiled: its parser and its evaluation recurse once per level."""


@lru_cache(maxsize=1024)
def jmes(expr: str) -> ParsedResult:
    """Compiled JMESPath (cached), within a length and depth bound; ``JMESPathError`` names
    what is wrong."""
    if len(expr) > MAX_JMESPATH_LENGTH:
        raise JMESPathError(f"longer than {MAX_JMESPATH_LENGTH} characters")
    try:
        parsed = jmespath.compile(expr)
    except RecursionError:
        raise JMESPathError(f"nested deeper than {MAX_JMESPATH_DEPTH} levels") from None
    if _depth(parsed.parsed) > MAX_JMESPATH_DEPTH:
        raise JMESPathError(f"nested deeper than {MAX_JMESPATH_DEPTH} levels")
    return parsed


def _depth(tree: Any) -> int:
    deepest, todo = 0, [(tree, 1)]
    while todo:
        node, level = todo.pop()
        deepest = max(deepest, level)
        if isinstance(node, Mapping):
            todo.extend((kid, level + 1) for kid in node.get("children", ()) if kid is not None)
    return deepest


def search(expr: str, body: Any) -> Any:
    """JMESPath over a body; ``None`` when the body is not a JSON object/array."""
    if not isinstance(body, Mapping | list):
        return None
    return jmes(expr).search(body)


def status_matches(match: StatusMatch | None, status: int) -> bool:
    """``409``, ``[409, 412]`` or ``"4xx"`` against a status; ``None`` matches any."""
    if match is None:
        return True
    if isinstance(match, int):
        return status == match
    if isinstance(match, str):
        return str(status)[:1] == match[:1]
    return status in match


@dataclass(frozen=True, slots=True)
class Classified:
    """The canonical outcome code of a response, whether its effect is unknown, and whether
    it is a server error (an HTTP 5xx, or an answer a rule declares one, e.g. HTTP 200 with
    ``{"code": 500}``)."""

    code: str
    unknown: bool = False
    server_error: bool = False


def _code_of(rule: OutcomeRule, body: Any) -> str | None:
    if rule.outcome is not None:
        return rule.outcome
    raw = search(rule.outcome_from or "", body)
    if raw is None or isinstance(raw, Mapping | list):
        return None
    text = str(raw).lower() if isinstance(raw, bool) else str(raw)
    return rule.map.get(text, text)


def default_code(status: int) -> Classified:
    """Without a matching rule: 2xx ok, 5xx unknown server error, else a plain error."""
    if 200 <= status < 300:
        return Classified("ok")
    if status >= 500:
        return Classified("server_error", unknown=True, server_error=True)
    return Classified("error")


def classify(rules: Iterable[OutcomeRule], status: int, body: Any) -> Classified:
    """The first rule matching status and body decides; otherwise ``default_code``."""
    for rule in rules:
        if not status_matches(rule.status, status):
            continue
        if rule.when is not None and not search(rule.when, body):
            continue
        code = _code_of(rule, body)
        if code is not None:
            declared = (
                rule.server_error if rule.server_error is not None else code == "server_error"
            )
            return Classified(code, rule.unknown, declared or status >= 500)
    return default_code(status)


def parse_prometheus(
    text: str, mapping: Mapping[str, tuple[str, Mapping[str, str]]] | None = None
) -> dict[str, float]:
    """Prometheus text exposition -> ``{metric_name: sum over its series}``, plus for each
    ``logical -> (series, labels)`` of ``mapping`` the sum of the samples of ``series`` that
    carry ``labels`` under the logical name (left out when no sample matches)."""
    out = _sums(text)
    if mapping:
        samples = _samples(text)
        for logical, (series, labels) in mapping.items():
            values = [
                v
                for name, have, v in samples
                if name == series and all(have.get(k) == want for k, want in labels.items())
            ]
            if values:
                out[logical] = sum(values)
    return out


def _samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    from prometheus_client.parser import text_string_to_metric_families

    try:
        return [
            (s.name, dict(s.labels), float(s.value))
            for family in text_string_to_metric_families(text)
            for s in family.samples
        ]
    except (ValueError, TypeError, IndexError):
        return []  # a malformed exposition: the mapped metrics are missing (checks say so)


def _sums(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, rest = line.rpartition(" ")
        if not head:
            continue
        if "}" in head or head.count(" ") > 0:
            name_part = head.split("{", 1)[0].strip()
            try:
                value = float(rest)
            except ValueError:
                # a trailing timestamp: "name{..} value ts"
                parts = line.split("}")[-1].split()
                value = float(parts[0]) if parts else 0.0
        else:
            name_part = head
            try:
                value = float(rest)
            except ValueError:
                continue
        out[name_part] = out.get(name_part, 0.0) + value
    return out
