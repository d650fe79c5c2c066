"""The probes of a document: which operations are probed, how, what they need created first and
what is read back around them (pure: decided from the document alone)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Literal

from monitor.openapi.auth import SessionPlan
from monitor.openapi.deps import Producer, producers
from monitor.openapi.model import Api, ApiOperation
from monitor.openapi.naming import unique_names
from monitor.openapi.refs import BodyRef, body_refs

MAX_READS = 6


@dataclass(slots=True)
class RaceProbe:
    """One probe: ``repeat`` fires N identical requests; ``updates`` fires N updates of
    different fields (lost updates); ``skip`` says why an operation is not probed."""

    op: ApiOperation
    name: str
    kind: Literal["repeat", "updates"] = "repeat"
    producers: list[Producer] = field(default_factory=list)
    before: ApiOperation | None = None  # run once first (the relationship a DELETE removes)
    refs: list[BodyRef] = field(default_factory=list)  # body fields made by other operations
    refs_before: list[BodyRef] = field(default_factory=list)  # those of ``before``'s body
    reads: list[ApiOperation] = field(default_factory=list)
    skip: str | None = None


def excluded(op: ApiOperation, patterns: list[str]) -> str | None:
    """The ``--exclude`` pattern that matches the operation (path, tag or operationId)."""
    for pattern in patterns:
        keys = [op.path, f"{op.method} {op.path}", op.operation_id or "", *op.tags]
        if any(k and fnmatch.fnmatch(k, pattern) for k in keys):
            return pattern
    return None


def _family(path: str) -> str:
    parts = [p for p in path.split("/") if p]
    return parts[0] if parts else ""


def _reads(api: Api, op: ApiOperation, bound: set[str]) -> list[ApiOperation]:
    gets = [
        o
        for o in api.operations
        if o.method == "GET"
        and _family(o.path) == _family(op.path)
        and set(o.path_params) <= bound
        and not [p for p in o.params if p.required and p.where in {"query", "header"}]
    ]
    gets.sort(key=lambda o: (o.path != op.path, -len(o.path_params), o.path))
    return gets[:MAX_READS]


def _bulk_delete(api: Api, op: ApiOperation) -> bool:
    """A DELETE of a collection whose items have paths of their own (``DELETE /buckets``
    beside ``/buckets/{id}``) deletes every item, the probe's or not: never probed."""
    base = op.path.rstrip("/")
    if base.endswith("}"):
        return False
    prefix = base + "/{"
    return any(
        o.path.startswith(prefix) and "/" not in o.path[len(prefix) :] for o in api.operations
    )


def plan_probes(api: Api, session: SessionPlan, exclude: list[str]) -> list[RaceProbe]:
    """A probe per state-changing operation (or the reason it is skipped)."""
    names = unique_names(api.operations)
    out: list[RaceProbe] = []
    for op in api.operations:
        if not op.is_write:
            continue
        probe = RaceProbe(op, names[op])
        out.append(probe)
        pattern = excluded(op, exclude)
        if pattern is not None:
            probe.skip = f"excluded by --exclude {pattern}"
            continue
        if op is session.login or (op is session.token_op and op is not session.register):
            probe.skip = "opens a session (login): not a resource write"
            continue
        found = producers(api, op)
        if isinstance(found, str):
            probe.skip = found
            continue
        probe.producers = found
        if op.method == "DELETE" and _bulk_delete(api, op):
            probe.skip = (
                f"DELETE {op.path} removes every item under {op.path.rstrip('/')}/{{...}},"
                " not only the probe's own (a bulk delete): left out"
            )
            continue
        if op.method == "DELETE" and not op.path.rstrip("/").endswith("}"):
            creators = [
                o for o in api.operations if o.path == op.path and o.method in {"PUT", "POST"}
            ]
            if not creators:
                probe.skip = f"nothing creates what DELETE {op.path} removes"
                continue
            probe.before = creators[0]
            probe.refs_before = body_refs(api, creators[0], session.register or session.login)
        if op.method in {"PATCH", "PUT"} and op.body is not None:
            probe.kind = "updates"
        probe.reads = _reads(api, op, set(op.path_params))
        probe.refs = body_refs(api, op, session.register or session.login)
    return out
