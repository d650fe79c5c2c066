"""Body fields that name other resources (``task_ids``, ``to_user_id``): which operation
produces their values, so ``probe`` and ``init`` create the resource first instead of drawing a
random id the service can only refuse (pure inference; the probe's producer is ``produce``).

Inferred, first match wins:

1. ``x-produced-by`` on the property's schema: an ``operationId`` or ``METHOD /path``, with an
   optional ``#field`` of its answer (``x-produced-by: createTask#id``);
2. an OpenAPI ``links`` entry of another operation's answer that names this operation and sets
   the field in its ``requestBody`` (``{task_id: "$response.body#/id"}``);
3. the field's name: ``{resource}_id`` / ``{resource}Id`` / ``{resource}_ids`` (a list) is made
   by the ``POST`` on ``/{resource}s`` (or ``/{resource}``) without path parameters, read from
   the answer's ``id``-like field; a resource naming a user (``to_user_id``, ``recipientId``:
   ``user``, ``account``, ``member`` after a relation word) is another registered user, read
   from its register answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

import jmespath

from monitor.openapi.deps import id_field
from monitor.openapi.model import Api, ApiOperation
from monitor.openapi.naming import words

HINT = "x-produced-by"
RELATIONS = frozenset((
    "to", "from", "target", "source", "parent", "recipient", "sender", "owner", "assignee",
    "other", "new", "old", "dest", "destination", "receiver", "payee", "payer", "related",
    "linked",
))  # fmt: skip
USERS = frozenset({"user", "account", "member", "customer", "person", "profile"})
PEOPLE = frozenset({"owner", "recipient", "sender", "assignee", "receiver", "payee", "payer"})
_REF = re.compile(r"^(?P<stem>.+?)[_-]?(?P<ids>ids|id|uuids|uuid)$", re.I)
MAX_ITEMS = 3


@dataclass(frozen=True, slots=True)
class BodyRef:
    """``field`` of the body takes what ``op`` answers at ``answer`` (``op`` None: another
    registered user's register answer); ``count`` values in a list when ``many``."""

    field: str
    op: ApiOperation | None
    answer: str | None
    many: bool = False
    count: int = 1
    how: str = "name"  # x-produced-by | links | name: how it was inferred (for GUESS comments)
    own: bool = False  # op None: the caller's own user (a bare user_id), not another one

    def describe(self) -> str:
        who = "the caller's own user" if self.own else "another registered user"
        source = who if self.op is None else f"{self.op.label}"
        where = f"'s {self.answer}" if self.answer else ""
        return f"{self.field} ← {source}{where}" + (f" (×{self.count})" if self.many else "")


def _plural_paths(stem: list[str]) -> set[str]:
    name = "_".join(stem)
    forms = {name, name + "s", name + "es", re.sub(r"y$", "ies", name)}
    return {f.replace("_", sep) for f in forms for sep in ("_", "-", "")}


def _creator(api: Api, stem: list[str]) -> ApiOperation | None:
    wanted = _plural_paths(stem)
    for op in api.operations:
        parts = [p for p in op.path.split("/") if p]
        if op.method == "POST" and parts and not op.path_params and parts[-1].lower() in wanted:
            return op
    return None


def _find_op(api: Api, ref: str) -> ApiOperation | None:
    for op in api.operations:
        if ref in (op.operation_id, f"{op.method} {op.path}"):
            return op
    return None


def _list_count(schema: dict[str, Any]) -> int:
    return max(1, min(int(schema.get("minItems") or 1), MAX_ITEMS))


def _links(api: Api, op: ApiOperation) -> dict[str, tuple[ApiOperation, str]]:
    """Fields of ``op``'s body that another operation's ``links`` fill from its answer."""
    out: dict[str, tuple[ApiOperation, str]] = {}
    for producer in api.operations:
        for link in producer.links:
            target = link.get("operationId")
            if target is None or target != op.operation_id:
                continue
            body = link.get("requestBody")
            for name, expr in body.items() if isinstance(body, dict) else ():
                m = re.fullmatch(r"\$response\.body#/(.+)", str(expr))
                if m:
                    out.setdefault(str(name), (producer, m.group(1).replace("/", ".")))
    return out


def body_refs(api: Api, op: ApiOperation, register: ApiOperation | None) -> list[BodyRef]:
    """The body fields of ``op`` whose values another operation produces."""
    props = (op.body or {}).get("properties") or {}
    linked = _links(api, op)
    out: list[BodyRef] = []
    for name, schema in props.items():
        if not isinstance(schema, dict) or (schema.get("readOnly") is True):
            continue
        many = schema.get("type") == "array" or "items" in schema
        count = _list_count(schema) if many else 1
        hint = schema.get(HINT) or (schema.get("items") or {}).get(HINT)
        if isinstance(hint, str):
            ref, _, answer = hint.partition("#")
            maker = _find_op(api, ref.strip())
            if maker is not None:
                field = answer or id_field(maker.response_schema(), name) or "id"
                out.append(BodyRef(name, maker, field, many, count, HINT))
            continue
        if name in linked:
            maker, answer = linked[name]
            out.append(BodyRef(name, maker, answer, many, count, "links"))
            continue
        m = _REF.match(name)
        if m is None or m.group("stem").lower() in {"", "request", "idempotency", "correlation"}:
            continue
        many = many or m.group("ids").lower().endswith("s")
        stem = words(m.group("stem"))
        if not stem:
            continue
        related = len(stem) > 1 and stem[0] in RELATIONS
        while len(stem) > 1 and stem[0] in RELATIONS:
            stem = stem[1:]
        if stem[-1] in USERS or (len(stem) == 1 and stem[0] in PEOPLE):
            if register is not None:
                found = id_field(register.response_schema(), "user_id") or "id"
                # a bare user_id / owner_id: most often the caller's own; others: another user
                own = not related and not many and stem in (["user"], ["account"], ["owner"])
                out.append(BodyRef(name, None, found, many, count, own=own))
            continue
        maker = _creator(api, stem)
        if maker is not None and maker is not op:
            made = id_field(maker.response_schema(), "_".join([*stem, "id"]))
            if made is not None:
                out.append(BodyRef(name, maker, made, many, count))
    return out


class Producing(Protocol):
    """What ``produce`` needs of a prober (``monitor.openapi.probe.Prober``)."""

    async def make(self, op: ApiOperation, user: Any) -> Any: ...
    async def other_user(self) -> Any: ...
    def own_answer(self, user: Any) -> Any: ...


async def produce(prober: Producing, refs: list[BodyRef], user: Any, body: Any) -> Any:
    """``body`` with each referenced field set to values made for ``user`` (a copy)."""
    if not refs or not isinstance(body, dict):
        return body
    out = dict(body)
    for ref in refs:
        values = []
        for _ in range(ref.count):
            if ref.own:
                answer = prober.own_answer(user)
            elif ref.op is None:
                answer = await prober.other_user()
            else:
                answer = await prober.make(ref.op, user)
            values.append(jmespath.search(ref.answer or "id", answer))
        out[ref.field] = values if ref.many else values[0]
    return out
