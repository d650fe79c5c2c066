"""An alert that fires while a chaos fault is active says so (a ``chaos`` annotation)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from monitor.alerts.config import AlertingConfig
from monitor.alerts.service import AlertService
from monitor.events import ChaosActionEnded, ChaosActionStarted, EventBus
from monitor.observe.metrics import MonitorMetrics


def _fire(service: AlertService, check: str, now: float) -> dict[str, str]:
    service.book.check_failed(
        suite="points", scenario="s", target="staging", check=check, message="m",
        expected="e", observed="o", evidence=[], now=now,
    )  # fmt: skip
    return next(a for a in service.book.due(now) if a.labels.get("check") == check).annotations


async def test_alerts_during_a_fault_name_it_and_not_after() -> None:
    config = AlertingConfig.model_validate(
        {"sinks": [{"kind": "webhook", "url": "http://127.0.0.1:9/"}]}
    )
    service = AlertService(config, metrics=MonitorMetrics(CollectorRegistry()))
    bus = EventBus()
    service.subscribe(bus)
    await bus.emit(ChaosActionStarted("a1", "latency", "staging", 1.0,
                                      {"description": "add 200 ms latency"}))  # fmt: skip
    during = _fire(service, "balance", 2.0)
    assert during["chaos"] == (
        "fired while chaos actions were active: latency (add 200 ms latency) on staging"
    )
    await bus.emit(ChaosActionEnded("a1", "latency", "staging", 1.0, 3.0))
    after = _fire(service, "ledger", 4.0)
    assert "chaos" not in after
    await bus.aclose()
