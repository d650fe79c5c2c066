"""An OpenTelemetry collector's OTLP/HTTP traces endpoint on loopback (protobuf, as the SDK's
``OTLPSpanExporter`` sends them): the real export path, every span kept with its resource."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.engine.servers import serve_app


def _value(value: AnyValue) -> Any:
    return getattr(value, value.WhichOneof("value")) if value.WhichOneof("value") else None


@dataclass
class Receiver:
    """What the endpoint received."""

    url: str
    exports: list[ExportTraceServiceRequest] = field(default_factory=list)

    def spans(self) -> list[tuple[dict[str, Any], Span]]:
        """Every span received, with the attributes of the resource that sent it."""
        found = []
        for export in self.exports:
            for rs in export.resource_spans:
                resource = {kv.key: _value(kv.value) for kv in rs.resource.attributes}
                found.extend((resource, span) for ss in rs.scope_spans for span in ss.spans)
        return found


def attributes(span: Span) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in span.attributes}


@pytest.fixture
async def otlp() -> AsyncIterator[Receiver]:
    """A loopback OTLP/HTTP endpoint; point ``OTEL_EXPORTER_OTLP_ENDPOINT`` at ``.url``."""
    receiver: Receiver | None = None

    async def traces(request: web.Request) -> web.Response:
        assert receiver is not None
        assert request.content_type == "application/x-protobuf"
        msg = ExportTraceServiceRequest()
        msg.ParseFromString(await request.read())
        receiver.exports.append(msg)
        return web.Response()

    app = web.Application()
    app.router.add_post("/v1/traces", traces)
    async with serve_app(app) as url:
        receiver = Receiver(url)
        yield receiver
