"""Alertmanager API v2: ``POST {url}/api/v2/alerts`` with a list of alerts, to every peer."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.alerts.config import AlertingConfig, AlertmanagerSink, receiver_names
from monitor.alerts.http import JsonPoster
from monitor.alerts.model import Alert, to_v2
from monitor.alerts.registry import SINKS, SinkContext


class AlertmanagerTransport(JsonPoster):
    """One Alertmanager (one peer of a cluster)."""

    async def post(self, alerts: Sequence[Alert]) -> None:
        await self.post_json([to_v2(a) for a in alerts])


@SINKS.register("alertmanager")
def build(
    sink: AlertmanagerSink, config: AlertingConfig, ctx: SinkContext
) -> list[AlertmanagerTransport]:
    """One transport per URL: HA peers do not gossip alerts they were not sent."""
    names = receiver_names(sink, config)
    return [
        AlertmanagerTransport(name, url.rstrip("/") + "/api/v2/alerts", sink)
        for name, url in zip(names, sink.urls, strict=True)
    ]
