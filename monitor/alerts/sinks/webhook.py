"""Alertmanager's webhook payload (version 4) posted to any URL."""

from __future__ import annotations

import time
from collections.abc import Sequence

from monitor.alerts.config import AlertingConfig, WebhookSink, receiver_names
from monitor.alerts.http import JsonPoster
from monitor.alerts.model import Alert, webhook_payload
from monitor.alerts.registry import SINKS, SinkContext


class WebhookTransport(JsonPoster):
    """A webhook receiver (a chat relay, a ticketing bridge)."""

    def __init__(self, name: str, url: str, cfg: WebhookSink, external_url: str) -> None:
        super().__init__(name, url, cfg)
        self.external_url = external_url

    async def post(self, alerts: Sequence[Alert]) -> None:
        await self.post_json(
            webhook_payload(
                alerts, receiver=self.name, external_url=self.external_url, now=time.time()
            )
        )


@SINKS.register("webhook")
def build(sink: WebhookSink, config: AlertingConfig, ctx: SinkContext) -> list[WebhookTransport]:
    (name,) = receiver_names(sink, config)
    return [WebhookTransport(name, sink.url, sink, ctx.external_url)]
