"""The operations a resolved OpenAPI document declares, as plain data (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_TYPES = ("application/json",)


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter: ``where`` is path, query, header or cookie."""

    name: str
    where: str
    required: bool
    schema: dict[str, Any]


@dataclass(frozen=True, slots=True, eq=False)
class ApiOperation:
    """One operation of the document."""

    method: str
    path: str
    operation_id: str | None
    summary: str
    tags: tuple[str, ...]
    params: tuple[Param, ...]
    body: dict[str, Any] | None  # JSON request body schema
    body_required: bool
    responses: dict[str, dict[str, Any]]  # status ("200", "4XX", "default") -> response object
    security: tuple[str, ...] | None  # scheme names required; () = none; None = the default
    media_types: tuple[str, ...] = ()  # of the success answer

    @property
    def label(self) -> str:
        """``operationId``, else ``METHOD /path``."""
        return self.operation_id or f"{self.method} {self.path}"

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{([^}]+)}", self.path)

    def success_status(self) -> int | None:
        codes = sorted(int(s) for s in self.responses if s.isdigit() and s.startswith("2"))
        return codes[0] if codes else None

    def response_schema(self, status: str | None = None) -> dict[str, Any] | None:
        """The JSON schema of the answer ``status`` (default: the first documented 2xx)."""
        key = status or (str(self.success_status()) if self.success_status() else None)
        response = self.responses.get(key or "", {})
        return _json_schema(response.get("content", {}))

    @property
    def links(self) -> list[dict[str, Any]]:
        """The OpenAPI ``links`` of its 2xx answers (resolved objects)."""
        return [
            link
            for status, response in self.responses.items()
            if status.startswith("2") and isinstance(response, dict)
            for link in (response.get("links") or {}).values()
            if isinstance(link, dict)
        ]

    @property
    def is_write(self) -> bool:
        return self.method in WRITES


@dataclass(frozen=True, slots=True)
class SecurityScheme:
    """One entry of ``components.securitySchemes``."""

    name: str
    type: str  # http | apiKey | oauth2 | openIdConnect
    scheme: str = ""  # http: bearer | basic | …
    where: str = ""  # apiKey: header | query | cookie
    param: str = ""  # apiKey: the header / query / cookie name
    description: str = ""


@dataclass(slots=True)
class Api:
    """What the document declares."""

    title: str
    operations: list[ApiOperation]
    schemes: dict[str, SecurityScheme] = field(default_factory=dict)
    default_security: tuple[str, ...] = ()
    base_path: str = ""

    def required_schemes(self, op: ApiOperation) -> tuple[str, ...]:
        return self.default_security if op.security is None else op.security


def _json_schema(content: dict[str, Any]) -> dict[str, Any] | None:
    for media, entry in content.items():
        if media in JSON_TYPES or media.endswith("+json"):
            schema = entry.get("schema")
            return schema if isinstance(schema, dict) else {}
    return None


def _security(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    names: list[str] = []
    for requirement in value:  # alternatives: the first is used
        names.extend(requirement)
        break
    return tuple(names)


def _params(path_item: dict[str, Any], op: dict[str, Any]) -> tuple[Param, ...]:
    merged: dict[tuple[str, str], Param] = {}
    for raw in [*path_item.get("parameters", []), *op.get("parameters", [])]:
        where = raw.get("in", "query")
        schema = raw.get("schema") or _json_schema(raw.get("content", {})) or {}
        merged[(raw["name"], where)] = Param(
            raw["name"], where, bool(raw.get("required") or where == "path"), schema
        )
    return tuple(merged.values())


def _base_path(doc: dict[str, Any]) -> str:
    servers = doc.get("servers") or []
    if not servers:
        return ""
    url = str(servers[0].get("url", ""))
    path = re.sub(r"^[a-z]+://[^/]*", "", url)
    return "" if path in {"", "/"} else path.rstrip("/")


def read_api(doc: dict[str, Any]) -> Api:
    """The operations and security schemes of a resolved document."""
    ops: list[ApiOperation] = []
    for path, item in (doc.get("paths") or {}).items():
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            body = op.get("requestBody") or {}
            body_schema = _json_schema(body.get("content", {})) if body else None
            responses = {str(k): v for k, v in (op.get("responses") or {}).items()}
            success: dict[str, Any] = next(
                (v for k, v in sorted(responses.items()) if k.startswith("2")), {}
            )
            ops.append(
                ApiOperation(
                    method=method.upper(),
                    path=path,
                    operation_id=op.get("operationId"),
                    summary=str(op.get("summary") or op.get("description") or "").strip(),
                    tags=tuple(op.get("tags") or ()),
                    params=_params(item, op),
                    body=body_schema,
                    body_required=bool(body.get("required")),
                    responses=responses,
                    security=_security(op.get("security")),
                    media_types=tuple((success.get("content") or {}).keys()),
                )
            )
    schemes: dict[str, SecurityScheme] = {}
    for name, raw in ((doc.get("components") or {}).get("securitySchemes") or {}).items():
        schemes[name] = SecurityScheme(
            name=name,
            type=str(raw.get("type", "")),
            scheme=str(raw.get("scheme", "")).lower(),
            where=str(raw.get("in", "")),
            param=str(raw.get("name", "")),
            description=str(raw.get("description", "")),
        )
    return Api(
        title=str((doc.get("info") or {}).get("title", "")),
        operations=ops,
        schemes=schemes,
        default_security=_security(doc.get("security")) or (),
        base_path=_base_path(doc),
    )
