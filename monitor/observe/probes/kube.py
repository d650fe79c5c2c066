"""Pod memory from the Kubernetes metrics API (``metrics.k8s.io/v1beta1``).

The only module of the probes that imports the kubernetes client. :class:`PodMetricsSource` is
the seam: the real source asks the API server through the official client (tested against a
real kube-apiserver in ``tests/kube/``); a test may point the same client at a fake endpoint.

A read lists the pods matching the selector through the core API first, so "no pod matches"
(a wrong selector or namespace), "the cluster serves no metrics API" (no metrics-server) and
"forbidden" (the ServiceAccount lacks a rule) are told apart in the error.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, cast

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.utils import parse_quantity

from monitor.observe.access import ApiAccess
from monitor.observe.probes.base import ProbeError

METRICS_GROUP = "metrics.k8s.io"
METRICS_VERSION = "v1beta1"
_LIVE_PHASES = {"Pending", "Running", "Unknown"}

#: Every API call of this module, as RBAC rules (the chart's Role for kubernetes probes).
API_ACCESS = (
    # MetricsApiSource.list_pods: list_namespaced_pod
    ApiAccess("", "pods", ("list",)),
    # MetricsApiSource.list_pod_metrics: list_namespaced_custom_object(metrics.k8s.io, pods)
    ApiAccess(METRICS_GROUP, "pods", ("list",)),
)


class PodMetricsSource(Protocol):
    """Pods of a namespace matching a label selector, and their ``PodMetrics`` (plain dicts)."""

    def list_pods(self, namespace: str, label_selector: str) -> Sequence[str]: ...

    def list_pod_metrics(
        self, namespace: str, label_selector: str
    ) -> Sequence[Mapping[str, Any]]: ...


def _api_error(exc: ApiException, what: str) -> ProbeError:
    """One line naming what failed and the API server's own reason (not headers and body)."""
    message = exc.reason or ""
    try:
        body = json.loads(exc.body or "")
        message = body.get("message") or message
    except (TypeError, ValueError, AttributeError):
        pass
    if exc.status == 403:
        return ProbeError(f"{what}: forbidden (HTTP 403): {message}")
    return ProbeError(f"{what}: HTTP {exc.status}: {message}")


class MetricsApiSource:
    """The real source: the official client's ``CoreV1Api`` and ``CustomObjectsApi``.

    Credentials load on first use (in-cluster ServiceAccount, else the kubeconfig), so a
    missing kubeconfig is a failed read naming the cause, not a crash at start-up.
    """

    def __init__(self, api_client: client.ApiClient | None = None) -> None:
        self._api_client = api_client

    def _client(self) -> client.ApiClient:
        if self._api_client is None:
            conf = client.Configuration()
            try:
                config.load_incluster_config(client_configuration=conf)  # type: ignore[no-untyped-call]
            except config.ConfigException:
                try:
                    # $KUBECONFIG as it is now (the client reads it once, at import).
                    config.load_kube_config(  # type: ignore[no-untyped-call]
                        config_file=os.environ.get("KUBECONFIG") or None,
                        client_configuration=conf,
                    )
                except (config.ConfigException, OSError) as exc:
                    raise ProbeError(
                        "no Kubernetes credentials: not running in a pod and no usable "
                        f"kubeconfig ({exc})"
                    ) from exc
            self._api_client = client.ApiClient(conf)
        return self._api_client

    def list_pods(self, namespace: str, label_selector: str) -> Sequence[str]:
        api = client.CoreV1Api(self._client())
        try:
            pods = api.list_namespaced_pod(namespace, label_selector=label_selector)
        except ApiException as exc:
            raise _api_error(exc, f"listing pods {label_selector!r} in {namespace}") from exc
        names: list[str] = []
        for pod in cast("list[Any]", pods.items):
            if (pod.status.phase or "Pending") in _LIVE_PHASES and (
                pod.metadata.deletion_timestamp is None
            ):
                names.append(pod.metadata.name)
        return names

    def list_pod_metrics(self, namespace: str, label_selector: str) -> Sequence[Mapping[str, Any]]:
        api = client.CustomObjectsApi(self._client())
        try:
            body = cast(
                "Mapping[str, Any]",
                api.list_namespaced_custom_object(
                    METRICS_GROUP, METRICS_VERSION, namespace, "pods", label_selector=label_selector
                ),
            )
        except ApiException as exc:
            if exc.status == 404:
                raise ProbeError(
                    f"metrics API not available: the cluster serves no "
                    f"{METRICS_GROUP}/{METRICS_VERSION} (is metrics-server installed?)"
                ) from exc
            if exc.status == 503:
                raise ProbeError(
                    f"metrics API not available: {METRICS_GROUP}/{METRICS_VERSION} is "
                    f"registered but its server does not answer ({_api_error(exc, 'HTTP 503')})"
                ) from exc
            raise _api_error(exc, f"reading pod metrics in {namespace}") from exc
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
    """Total and largest pod memory of the pods matching ``label_selector``.

    Values: ``memory_bytes`` (sum over pods with a reading), ``max_pod_memory_bytes`` and
    ``pods`` (live pods matching the selector, from the core API).
    """

    def __init__(
        self, name: str, namespace: str, label_selector: str, source: PodMetricsSource
    ) -> None:
        self.name = name
        self.namespace = namespace
        self.label_selector = label_selector
        self._source = source

    async def read(self) -> dict[str, float]:
        where = f"{self.namespace}/{self.label_selector}"
        try:
            pods = await asyncio.to_thread(
                self._source.list_pods, self.namespace, self.label_selector
            )
            if not pods:
                raise ProbeError(
                    f"{self.name}: no pods match {self.label_selector!r} in {self.namespace}"
                )
            items = await asyncio.to_thread(
                self._source.list_pod_metrics, self.namespace, self.label_selector
            )
            per_pod = pod_memory(items)
        except ProbeError as exc:
            if str(exc).startswith(f"{self.name}: "):
                raise
            raise ProbeError(f"{self.name}: {exc}") from exc
        except Exception as exc:
            raise ProbeError(f"{self.name}: Kubernetes API for {where}: {exc}") from exc
        if not per_pod:
            raise ProbeError(
                f"{self.name}: the metrics API has no readings yet for the {len(pods)} pod(s) "
                f"matching {self.label_selector!r} in {self.namespace}"
            )
        return {
            "memory_bytes": sum(per_pod.values()),
            "max_pod_memory_bytes": max(per_pod.values()),
            "pods": float(len(pods)),
        }
