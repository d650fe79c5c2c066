"""Producer -> consumer: which operation creates what a path parameter names (pure).

As RESTler and Schemathesis' stateful mode infer links: a parameter ``{clubId}`` of
``/clubs/{clubId}/…`` is produced by ``POST /clubs`` (the collection the parameter indexes),
and read from that answer's field named like it (``clubId``, ``club_id``, ``id``, ``slug`` …,
also inside an envelope such as ``{"club": {...}}``). Parameters that name the caller's own
user (``{username}`` of ``/profiles/{username}/follow``) come from another registered user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from monitor.openapi.model import Api, ApiOperation
from monitor.openapi.naming import words

USER_PARAMS = ("username", "user_id", "userid", "uid", "handle", "login", "account_id")


@dataclass(frozen=True, slots=True)
class Producer:
    """How to obtain a value for ``param``: run ``op`` (on ``prefix`` with earlier parameters
    filled), then read ``field`` (JMESPath) of its answer; ``op`` None: a fresh user's value."""

    param: str
    op: ApiOperation | None
    field: str | None
    user_field: str | None = None  # for a user parameter: the session field holding it


def _norm(name: str) -> str:
    return "".join(words(name))


def id_field(schema: dict[str, Any] | None, param: str, depth: int = 0) -> str | None:
    """The JMESPath of the answer field that a parameter named ``param`` takes."""
    if not isinstance(schema, dict) or depth > 2:
        return None
    props = schema.get("properties") or {}
    wanted = _norm(param)
    stem = re.sub(r"(id|uuid|slug|key)$", "", wanted)
    for name in props:  # the parameter's own name: clubId, club_id
        if _norm(name) == wanted:
            return str(name)
    for name in ("id", "uuid", "slug", "key", "code", "name", "username"):
        if name in props and (wanted.endswith(name) or name == "id"):
            return name
    for name, sub in props.items():  # an envelope: {"club": {...}} or {"data": {...}}
        if isinstance(sub, dict) and (
            _norm(name) in {stem, "data", "result", "item"} or depth == 0
        ):
            found = id_field(sub, param, depth + 1)
            if found:
                return f"{name}.{found}"
    return None


def producers(api: Api, op: ApiOperation) -> list[Producer] | str:
    """One producer per path parameter, in path order, or why none can be found."""
    out: list[Producer] = []
    path = op.path
    for param in op.path_params:
        prefix = path[: path.index(f"{{{param}}}")].rstrip("/")
        creators = [
            o for o in api.operations if o.method == "POST" and o.path.rstrip("/") == prefix
        ]
        if creators:
            creator = creators[0]
            found = id_field(creator.response_schema(), param)
            if found is None:
                return f"POST {prefix} answers no field for {{{param}}}"
            out.append(Producer(param, creator, found))
            continue
        if _norm(param) in {_norm(p) for p in USER_PARAMS}:
            out.append(Producer(param, None, None, user_field=param))
            continue
        puts = [
            o
            for o in api.operations
            if o.method == "PUT" and o.path == path[: path.index(f"{{{param}}}") + len(param) + 2]
        ]
        if puts:  # PUT /things/{name} creates the thing it names
            out.append(Producer(param, puts[0], None))
            continue
        return f"no operation creates {{{param}}} (no POST {prefix or '/'})"
    return out
