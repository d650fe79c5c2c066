"""Metrics of a one-shot run for a Prometheus Pushgateway (``soakmon run --pushgateway URL``).

The series are the daemon's (:class:`MonitorMetrics`, same names and labels), one registry per
suite, pushed with prometheus-client's ``push_to_gateway`` under the grouping key
``{job, instance, suite}``: shards of one run land side by side (``instance`` is the shard) and
a rerun replaces its own groups. Aggregate the shards with ``sum`` (see docs/kubernetes.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from prometheus_client import push_to_gateway

from monitor.errors import SoakmonError
from monitor.observe.metrics import MonitorMetrics

log = logging.getLogger(__name__)


class PushError(SoakmonError):
    """The Pushgateway refused the push or could not be reached; names the URL and cause."""


@dataclass
class RunMetrics:
    """Metrics of one run, by suite (each suite is its own Pushgateway group)."""

    by_suite: dict[str, MonitorMetrics] = field(default_factory=dict)

    def suite(self, name: str) -> MonitorMetrics:
        if name not in self.by_suite:
            self.by_suite[name] = MonitorMetrics()
        return self.by_suite[name]

    def push(
        self,
        url: str,
        *,
        job: str,
        instance: str,
        timeout_s: float = 30.0,
    ) -> list[str]:
        """Push every suite's registry; returns the suites pushed. ``PushError`` on failure."""
        pushed: list[str] = []
        for suite, metrics in sorted(self.by_suite.items()):
            key = {"instance": instance, "suite": suite}
            try:
                push_to_gateway(
                    url, job=job, registry=metrics.registry, grouping_key=key,
                    timeout=timeout_s,
                )  # fmt: skip
            except Exception as exc:  # urllib raises URLError, HTTPError, OSError, ValueError
                raise PushError(f"pushgateway {url}: {exc}") from exc
            pushed.append(suite)
        return pushed
