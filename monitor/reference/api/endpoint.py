"""One declarative table entry per endpoint: it drives routing, validation and OpenAPI alike."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from monitor.reference.behaviour import Behaviour
from monitor.reference.database import Database
from monitor.reference.errors import invalid, not_found, unauthorized
from monitor.reference.metrics import ServiceMetrics
from monitor.reference.ops.gate import KeyedGate
from monitor.reference.ops.users import TokenCache, TokenExpired

M = TypeVar("M", bound=BaseModel)
TRANSFERS_PER_PAIR = 2
"""Concurrent transfers of one pair of users per process (see ``KeyedGate``)."""
Reply = BaseModel | tuple[BaseModel, Mapping[str, str]] | web.StreamResponse


@dataclass(frozen=True)
class Services:
    """Everything a handler may use; one per running service."""

    db: Database
    behaviour: Behaviour
    metrics: ServiceMetrics
    tokens: TokenCache = field(default_factory=TokenCache)
    transfer_gate: KeyedGate = field(default_factory=lambda: KeyedGate(TRANSFERS_PER_PAIR))


SERVICES = web.AppKey("reference_services", Services)


@dataclass(frozen=True)
class Ctx:
    """A validated request, handed to a handler."""

    request: web.Request
    services: Services
    user_id: str
    body: BaseModel | None
    query: BaseModel | None

    @property
    def db(self) -> Database:
        return self.services.db

    @property
    def behaviour(self) -> Behaviour:
        return self.services.behaviour

    def body_as(self, model: type[M]) -> M:
        assert isinstance(self.body, model)
        return self.body

    def query_as(self, model: type[M]) -> M:
        assert isinstance(self.query, model)
        return self.query

    def path_id(self) -> str:
        raw = self.request.match_info["id"]
        try:
            return str(uuid.UUID(raw))
        except ValueError:
            raise not_found(f"no resource with id {raw!r}") from None


Handler = Callable[[Ctx], Awaitable[Reply]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    status: int = 200
    response: type[BaseModel] | None = None
    """Success body model (None: not JSON, see ``media_type``)."""
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    """Contract error statuses besides the generic ones (401, 422, 503)."""
    auth: bool = True
    operational: bool = False
    """Health / metrics / docs: no fault hooks, no database work required."""
    media_type: str = "application/json"
    headers: tuple[str, ...] = ()
    """Response headers the success answer carries (documented in OpenAPI)."""


def json_reply(
    model: BaseModel, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=model.model_dump_json().encode(),
        status=status,
        content_type="application/json",
        headers=dict(headers or {}),
    )


def describe_validation(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


async def _authenticate(request: web.Request, services: Services) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 128:
        raise unauthorized()
    try:
        user_id = await services.tokens.user_for(services.db, token)
    except TokenExpired:
        raise unauthorized("bearer token expired; register again") from None
    if user_id is None:
        raise unauthorized("unknown bearer token")
    return user_id


def _parse_query(model: type[BaseModel], request: web.Request) -> BaseModel:
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise invalid(f"invalid query: {describe_validation(exc)}") from None


async def _parse_body(model: type[BaseModel], request: web.Request) -> BaseModel:
    raw = await request.read()
    if not raw.strip():
        raise invalid("request body must be a JSON object")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise invalid(f"invalid body: {describe_validation(exc)}") from None


def aiohttp_handler(ep: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Wrap a handler: fault hooks, auth, query and body validation, response rendering."""

    async def handle(request: web.Request) -> web.StreamResponse:
        services = request.app[SERVICES]
        if not ep.operational:
            for hook in services.behaviour.request_hooks:
                await hook(services.db)
        user_id = await _authenticate(request, services) if ep.auth else ""
        query = _parse_query(ep.query, request) if ep.query else None
        body = await _parse_body(ep.body, request) if ep.body else None
        result = await ep.handler(Ctx(request, services, user_id, body, query))
        if isinstance(result, web.StreamResponse):
            return result
        if isinstance(result, tuple):
            model, headers = result
            return json_reply(model, ep.status, headers)
        return json_reply(result, ep.status)

    handle.__name__ = ep.handler.__name__
    return handle


def as_model(model: type[M], data: Mapping[str, Any] | Any) -> M:
    """Build a response model from a row mapping or an object."""
    if hasattr(data, "_mapping"):
        data = dict(data._mapping)
    return model.model_validate(data, from_attributes=not isinstance(data, Mapping))
