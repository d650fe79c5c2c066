"""Schema-driven request values, drawn with Schemathesis' generators (Hypothesis under the
hood) from the operation's own schemas.

Before drawing, the document is prepared for probing: every property of a top-level JSON body
is asked for (a probe wants to see each field it wrote read back), and free-text strings (no
pattern, format or enum, room for 17 characters) become unique tokens, so two probes never
collide by accident while one probe can repeat *its* value N times (an identical payload).
"""

from __future__ import annotations

import copy
import re
import uuid
import warnings
from dataclasses import dataclass
from typing import Any

from monitor.openapi.model import METHODS

UNIQUE_FORMAT = "soakmon-unique"
TOKEN_LEN = 17


def token() -> str:
    """A fresh unique token (17 characters)."""
    return f"soak-{uuid.uuid4().hex[:12]}"


def _mark_free_strings(schema: Any) -> Any:
    if isinstance(schema, list):
        return [_mark_free_strings(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _mark_free_strings(v) for k, v in schema.items()}
    free = not ({"format", "enum", "const"} & set(out)) and _accepts(out.get("pattern"))
    fits = int(out.get("maxLength", TOKEN_LEN)) >= TOKEN_LEN >= int(out.get("minLength", 0))
    if free and fits and out.get("type") in ("string", ["string"]):
        out["format"] = UNIQUE_FORMAT
    return out


def _accepts(pattern: Any) -> bool:
    if pattern is None:
        return True
    try:
        return re.search(str(pattern), token()) is not None
    except re.error:
        return False


def _no_null(schema: Any) -> Any:
    """A probe wants concrete values: ``null`` alternatives are dropped where others exist."""
    if isinstance(schema, list):
        return [_no_null(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _no_null(v) for k, v in schema.items()}
    for key in ("anyOf", "oneOf"):
        options = out.get(key)
        if isinstance(options, list):
            kept = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            if kept and len(kept) < len(options):
                out[key] = kept
    kind = out.get("type")
    if isinstance(kind, list) and "null" in kind and len(kind) > 1:
        out["type"] = [t for t in kind if t != "null"]
    out.pop("nullable", None)
    return out


def _all_required(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return schema
    props = schema.get("properties")
    if isinstance(props, dict) and props:
        writable = [k for k, v in props.items() if not (isinstance(v, dict) and v.get("readOnly"))]
        return {**schema, "required": sorted(set(schema.get("required", [])) | set(writable))}
    return schema


def prepare(resolved: dict[str, Any]) -> dict[str, Any]:
    """A copy of the resolved document ready for drawing probe values."""
    doc = copy.deepcopy(resolved)
    for item in (doc.get("paths") or {}).values():
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            for param in op.get("parameters", []):
                if "schema" in param:
                    param["schema"] = _mark_free_strings(param["schema"])
            content = (op.get("requestBody") or {}).get("content") or {}
            for entry in content.values():
                if isinstance(entry, dict) and isinstance(entry.get("schema"), dict):
                    entry["schema"] = _mark_free_strings(_no_null(_all_required(entry["schema"])))
    return doc


@dataclass(frozen=True, slots=True)
class Drawn:
    """One generated request: path parameters, query and JSON body."""

    path: dict[str, Any]
    query: dict[str, Any]
    body: Any


class ValueSource:
    """Draws valid requests for the operations of one (prepared) document."""

    def __init__(self, resolved: dict[str, Any]) -> None:
        import schemathesis
        from hypothesis import strategies as st

        schemathesis.openapi.format(UNIQUE_FORMAT, st.builds(token))
        self.schema = schemathesis.openapi.from_dict(prepare(resolved))

    def draw(self, method: str, path: str, n: int = 1) -> list[Drawn]:
        """Up to ``n`` distinct valid requests of ``method path``."""
        from hypothesis import HealthCheck, Phase, given, settings

        strategy = self.schema[path][method.upper()].as_strategy()
        found: list[Drawn] = []

        @settings(
            max_examples=max(n, 1),
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            deadline=None,
        )
        @given(strategy)
        def collect(case: Any) -> None:
            body = case.body
            found.append(
                Drawn(
                    dict(case.path_parameters or {}),
                    dict(case.query or {}),
                    None if _is_unset(body) else body,
                )
            )

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            collect()
        return found[:n]


def _is_unset(value: Any) -> bool:
    return type(value).__name__ == "NotSet"


def fresh(value: Any) -> Any:
    """The same payload with new unique tokens (a second, independent identical payload)."""
    if isinstance(value, dict):
        return {k: fresh(v) for k, v in value.items()}
    if isinstance(value, list):
        return [fresh(v) for v in value]
    if isinstance(value, str) and value.startswith("soak-"):
        return token()
    return value
