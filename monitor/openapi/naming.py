"""Operation names: ``operationId`` (made profile-safe), else method + path; and guesses of the
built-in vocabulary (``points.add``, ``tasks.get`` …) so the built-in suites can run (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from monitor.openapi.model import ApiOperation
from monitor.suites.profile.operations import OPERATIONS

_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_VERBS = {  # canonical verb -> (method, has a trailing path id, words that name it)
    "create": ("POST", False, ()),
    "get": ("GET", True, ()),
    "list": ("GET", False, ()),
    "update": ("PATCH|PUT", True, ()),
    "delete": ("DELETE", True, ()),
    "set": ("POST|PUT", False, ()),
    "balance": ("GET", False, ("balance", "my", "points")),
    "transactions": ("GET", False, ("transactions", "history", "ledger")),
    "claim": ("POST", False, ("gift", "claim", "welcome")),
    "metrics": ("GET", False, ("metrics",)),
}


def words(text: str) -> list[str]:
    """Lower-case words of an identifier, a path or a title (camelCase split)."""
    return [w for w in _SPLIT.split(_CAMEL.sub(" ", text).lower()) if w]


def operation_name(op: ApiOperation) -> str:
    """The profile name: ``operationId`` in snake case, else ``method_path_words``."""
    if op.operation_id:
        return "_".join(words(op.operation_id)) or op.operation_id
    return "_".join([op.method.lower(), *words(op.path.replace("{", " by ").replace("}", " "))])


def unique_names(ops: Iterable[ApiOperation]) -> dict[ApiOperation, str]:
    out: dict[ApiOperation, str] = {}
    taken: set[str] = set()
    for op in ops:
        name, n = operation_name(op), 2
        while name in taken:
            name, n = f"{operation_name(op)}_{n}", n + 1
        taken.add(name)
        out[op] = name
    return out


def _op_words(op: ApiOperation) -> set[str]:
    found = set(words(re.sub(r"{[^}]+}", " ", op.path)))
    found |= set(words(op.operation_id or ""))
    schema = op.response_schema() or {}
    found |= set(words(str(schema.get("title", ""))))
    return found


def _score(canonical: str, op: ApiOperation) -> int:
    resource, verb = canonical.split(".")
    method, trailing, named = _VERBS.get(verb, ("POST", False, (verb,)))
    if op.method not in method.split("|"):
        return 0
    found = _op_words(op)
    resource_words = {resource, resource.rstrip("s")}
    if verb == "metrics":
        return 10 if "metrics" in found and "text/plain" in " ".join(op.media_types) else 0
    if not resource_words & found and verb != "claim":
        return 0
    ends_in_id = op.path.rstrip("/").endswith("}")
    if verb == "get" and not ends_in_id and not op.path_params:
        return 2  # a singleton read (``GET /top3?date=``); an id read scores higher
    if verb in {"create", "get", "list", "update", "delete"}:
        if ends_in_id != trailing or len(op.path_params) > 1:
            return 0
        extra = found - resource_words - {"id", op.method.lower(), "api", "v1", "v2"}
        return 6 - len(extra)
    hits = sum(1 for w in named if w in found)
    if verb == "set":
        return 5 if not ends_in_id and not op.path_params else 0
    return 4 * hits if hits else 0


def builtin_guesses(ops: Iterable[ApiOperation]) -> dict[ApiOperation, str]:
    """Operations that look like a built-in one (one best match each, ties left unnamed)."""
    ops = list(ops)
    out: dict[ApiOperation, str] = {}
    for canonical in OPERATIONS:
        if "." not in canonical:
            continue
        scored = sorted(((_score(canonical, op), i) for i, op in enumerate(ops)), reverse=True)
        if not scored or scored[0][0] <= 0:
            continue
        if len(scored) > 1 and scored[1][0] == scored[0][0]:
            continue
        best = ops[scored[0][1]]
        if best not in out:
            out[best] = canonical
    return out
