"""The OpenAPI 3.1 document, generated from the endpoint table and its pydantic models (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from monitor.reference.api.endpoint import Endpoint
from monitor.reference.models import ErrorOut

_ERROR_TEXT = {
    401: "Missing or invalid bearer token (unauthorized).",
    404: "Resource not found or owned by another user (not_found).",
    409: "Conflict: insufficient_points, already_set, already_claimed, "
    "insufficient_quantity or already_exists.",
    412: "If-Match does not match the current version (version_conflict).",
    422: "Body or query fails validation (invalid_request).",
    503: "Transient database failure after retries, or database unavailable (retry_later; nothing"
    " written), or the connection lost during COMMIT (commit_unknown; maybe written).",
}
_REF = "#/components/schemas/{model}"


def _operation_id(ep: Endpoint) -> str:
    return ep.method.lower() + "_" + "_".join(re.findall(r"[a-z0-9]+", ep.path.lower()))


def _error_statuses(ep: Endpoint) -> list[int]:
    found = set(ep.errors)
    if ep.auth:
        found.add(401)
    if ep.body or ep.query:
        found.add(422)
    if not ep.operational:
        found.add(503)
    return sorted(found)


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=_REF)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def _success(ep: Endpoint, refs: Mapping[tuple[Any, JsonSchemaMode], Any]) -> dict[str, Any]:
    if ep.response is not None:
        schema: dict[str, Any] = refs[(ep.response, "serialization")]
    elif ep.media_type == "application/json":
        schema = {"type": "object"}
    else:
        schema = {"type": "string"}
    out: dict[str, Any] = {
        "description": ep.summary,
        "content": {ep.media_type: {"schema": schema}},
    }
    if ep.headers:
        out["headers"] = {
            h: {"description": "The task version, quoted.", "schema": {"type": "string"}}
            for h in ep.headers
        }
    return out


def build_openapi(endpoints: Sequence[Endpoint], *, version: str = "1") -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``endpoints``."""
    pairs: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {(ErrorOut, "serialization"): None}
    for ep in endpoints:
        if ep.body is not None:
            pairs[(ep.body, "validation")] = None
        if ep.response is not None:
            pairs[(ep.response, "serialization")] = None
    refs, top = models_json_schema(list(pairs), ref_template=_REF)
    error_ref = refs[(ErrorOut, "serialization")]
    paths: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        op: dict[str, Any] = {
            "operationId": _operation_id(ep),
            "summary": ep.summary,
            "security": [{"bearerAuth": []}] if ep.auth else [],
        }
        params = []
        if "{id}" in ep.path:
            params.append(
                {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "format": "uuid"},
                }
            )
        if ep.query is not None:
            params.extend(_query_parameters(ep.query))
        if params:
            op["parameters"] = params
        if ep.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(ep.body, "validation")]}},
            }
        responses: dict[str, Any] = {str(ep.status): _success(ep, refs)}
        for status in _error_statuses(ep):
            responses[str(status)] = {
                "description": _ERROR_TEXT.get(status, "Error."),
                "content": {"application/json": {"schema": error_ref}},
            }
        op["responses"] = responses
        paths.setdefault(ep.path, {})[ep.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "soakmon reference target",
            "version": version,
            "description": "Points, tasks, Top3 and rewards: the API the built-in suites speak.",
        },
        "paths": paths,
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }
