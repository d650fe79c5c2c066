"""Pod memory from the Kubernetes metrics API (``metrics.k8s.io/v1beta1``).

The only module of the probes that imports the kubernetes client. :class:`PodMetricsSource` is
the seam: the real source asks the API server through the official client; tests, which have no
API server on this machine, point the same client at a fake metrics endpoint on loopback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, cast

from kubernetes import client, config
from kubernetes.utils import parse_quantity

from monitor.observe.access import ApiAccess
from monitor.observe.probes.base import ProbeError

#: Every API call of this module, as RBAC rules (the chart's Role for kubernetes probes).
API_ACCESS = (
    # MetricsApiSource.list_pod_metrics: list_namespaced_custom_object(metrics.k8s.io, pods)
    ApiAccess("metrics.k8s.io", "pods", ("list",)),
)


class PodMetricsSource(Protocol):
    """Lists ``PodMetrics`` objects (as plain dicts) of a namespace."""

    def list_pod_metrics(
        self, namespace: str, label_selector: str
    ) -> Sequence[Mapping[str, Any]]: ...


class MetricsApiSource:
    """The real source: the official client's ``CustomObjectsApi`` on ``metrics.k8s.io``."""

    def __init__(self, api_client: client.ApiClient | None = None) -> None:
        if api_client is None:
            try:
                config.load_incluster_config()  # type: ignore[no-untyped-call]
            except config.ConfigException:
                config.load_kube_config()  # type: ignore[no-untyped-call]
            api_client = client.ApiClient()
        self._api = client.CustomObjectsApi(api_client)

    def list_pod_metrics(self, namespace: str, label_selector: str) -> Sequence[Mapping[str, Any]]:
        body = cast(
            "Mapping[str, Any]",
            self._api.list_namespaced_custom_object(
                "metrics.k8s.io", "v1beta1", namespace, "pods", label_selector=label_selector
            ),
        )
        items: Sequence[Mapping[str, Any]] = body.get("items", [])
        return items


def pod_memory(items: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Bytes of memory per pod (containers summed), from PodMetrics objects."""
    out: dict[str, float] = {}
    for item in items:
        pod = item["metadata"]["name"]
        total = 0.0
        for container in item.get("containers", []):
            quantity = parse_quantity(container["usage"]["memory"])  # type: ignore[no-untyped-call]
            total += float(quantity)
        out[pod] = total
    return out


class KubernetesPodMemoryProbe:
    """Total and largest pod memory of the pods matching ``label_selector``."""

    def __init__(
        self, name: str, namespace: str, label_selector: str, source: PodMetricsSource
    ) -> None:
        self.name = name
        self.namespace = namespace
        self.label_selector = label_selector
        self._source = source

    async def read(self) -> dict[str, float]:
        try:
            items = await asyncio.to_thread(
                self._source.list_pod_metrics, self.namespace, self.label_selector
            )
            per_pod = pod_memory(items)
        except ProbeError:
            raise
        except Exception as exc:
            raise ProbeError(
                f"{self.name}: metrics API for {self.namespace}/{self.label_selector}: {exc}"
            ) from exc
        if not per_pod:
            raise ProbeError(
                f"{self.name}: no pods match {self.label_selector!r} in {self.namespace}"
            )
        return {
            "memory_bytes": sum(per_pod.values()),
            "max_pod_memory_bytes": max(per_pod.values()),
            "pods": float(len(per_pod)),
        }
