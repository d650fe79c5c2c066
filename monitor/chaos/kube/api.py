"""The Kubernetes API calls of the chaos actions, through the official client.

:class:`KubeChaosApi` is the only place in ``monitor.chaos`` that imports the kubernetes
client (the import-linter contract allows ``monitor.chaos`` and ``monitor.observe`` to). Every
call is synchronous (the actions run them in a thread) and raises :class:`KubeApiError` naming
what was asked and the API server's own reason: "forbidden" (the ServiceAccount lacks a rule:
see :mod:`monitor.chaos.access`), "not found", an unreachable server or missing credentials.
It is tested against a real kube-apiserver in ``tests/kube/test_chaos_*.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from monitor.errors import SoakmonError

_T = TypeVar("_T")
WorkloadKind = Literal["Deployment", "StatefulSet"]
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
"""The pod-template annotation ``kubectl rollout restart`` sets (the same one, so kubectl's
rollout history and tools that read it see soakmon's restarts as restarts)."""


class KubeApiError(SoakmonError):
    """A Kubernetes API call failed; ``status`` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class PodState:
    """What the chaos actions need to know of a pod."""

    name: str
    phase: str
    ready: bool
    deleting: bool
    created: float
    """Creation time (Unix seconds), to tell replacements from the pods that were there."""


@dataclass(frozen=True, slots=True)
class WorkloadState:
    """A Deployment's or StatefulSet's replica counts and rollout progress."""

    replicas: int
    ready: int
    updated: int
    available: int
    generation: int
    observed_generation: int
    current: int = 0
    """``status.replicas``: pods of every revision not yet being deleted (old ones included)."""

    @property
    def rolled_out(self) -> bool:
        """The controller saw the latest spec and every replica is updated, ready, available
        (``kubectl rollout status`` semantics, with old replicas gone)."""
        return (
            self.observed_generation >= self.generation
            and self.updated == self.replicas
            and self.ready == self.replicas
            and self.available == self.replicas
            and self.current == self.replicas
        )


def _message(exc: ApiException) -> str:
    message = exc.reason or ""
    try:
        body = json.loads(exc.body or "")
        message = body.get("message") or message
    except (TypeError, ValueError, AttributeError):
        pass
    return str(message)


def api_error(exc: Exception, what: str) -> KubeApiError:
    """One line: what was asked, and the API server's reason (not headers and body)."""
    if isinstance(exc, ApiException):
        status = int(exc.status or 0)
        if status == 403:
            return KubeApiError(f"{what}: forbidden (HTTP 403): {_message(exc)}", status)
        if status == 404:
            return KubeApiError(f"{what}: not found (HTTP 404): {_message(exc)}", status)
        if status in (400, 422):
            return KubeApiError(f"{what}: refused by the API server: {_message(exc)}", status)
        return KubeApiError(f"{what}: HTTP {status}: {_message(exc)}", status)
    if isinstance(exc, KubeApiError):
        return exc
    return KubeApiError(f"{what}: the Kubernetes API server did not answer: {exc}")


def call(what: str, request: Callable[[], _T], *, missing_ok: bool = False) -> _T | None:
    """``request()``; any failure as one :class:`KubeApiError` naming ``what``. With
    ``missing_ok``, None when the object is not there (HTTP 404)."""
    try:
        return request()
    except Exception as exc:
        if missing_ok and isinstance(exc, ApiException) and exc.status == 404:
            return None
        raise api_error(exc, what) from exc


def load_api_client() -> client.ApiClient:
    """The in-cluster ServiceAccount's credentials, else the kubeconfig ($KUBECONFIG now)."""
    conf = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=conf)  # type: ignore[no-untyped-call]
    except config.ConfigException:
        try:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=os.environ.get("KUBECONFIG") or None, client_configuration=conf
            )
        except (config.ConfigException, OSError) as exc:
            raise KubeApiError(
                f"no Kubernetes credentials: not running in a pod and no usable kubeconfig ({exc})"
            ) from exc
    return client.ApiClient(conf)


def _epoch(value: Any) -> float:
    return float(value.timestamp()) if value is not None else 0.0


def _ready(pod: Any) -> bool:
    if pod.status.phase != "Running" or pod.metadata.deletion_timestamp is not None:
        return False
    for cond in pod.status.conditions or ():
        if cond.type == "Ready":
            return bool(cond.status == "True")
    return False


class KubeChaosApi:
    """The chaos actions' calls. Credentials load on first use, so a missing kubeconfig is a
    failed action naming the cause, not a crash at start-up."""

    def __init__(self, api_client: client.ApiClient | None = None) -> None:
        self._api_client = api_client

    def _client(self) -> client.ApiClient:
        if self._api_client is None:
            self._api_client = load_api_client()
        return self._api_client

    # -- pods --------------------------------------------------------------------------------

    def list_pods(self, namespace: str, selector: str) -> list[PodState]:
        core = client.CoreV1Api(self._client())
        pods: Any = call(
            f"listing pods {selector!r} in {namespace}",
            lambda: core.list_namespaced_pod(namespace, label_selector=selector),
        )
        return [
            PodState(
                name=p.metadata.name,
                phase=p.status.phase or "Pending",
                ready=_ready(p),
                deleting=p.metadata.deletion_timestamp is not None,
                created=_epoch(p.metadata.creation_timestamp),
            )
            for p in cast("list[Any]", pods.items)
        ]

    def delete_pod(self, namespace: str, name: str, grace_period_s: int | None) -> bool:
        """Delete one pod; False when it was already gone."""
        core = client.CoreV1Api(self._client())
        deleted = call(
            f"deleting pod {namespace}/{name}",
            lambda: core.delete_namespaced_pod(
                name, namespace, grace_period_seconds=grace_period_s
            ),
            missing_ok=True,
        )
        return deleted is not None

    # -- workloads ---------------------------------------------------------------------------

    def workload(self, kind: WorkloadKind, namespace: str, name: str) -> WorkloadState:
        apps = client.AppsV1Api(self._client())
        obj: Any = call(
            f"reading {kind} {namespace}/{name}",
            lambda: (
                apps.read_namespaced_deployment(name, namespace)
                if kind == "Deployment"
                else apps.read_namespaced_stateful_set(name, namespace)
            ),
        )
        status = obj.status
        available = status.available_replicas if kind == "Deployment" else None
        return WorkloadState(
            replicas=int(obj.spec.replicas if obj.spec.replicas is not None else 1),
            ready=int(status.ready_replicas or 0),
            updated=int(status.updated_replicas or 0),
            available=int(available if available is not None else (status.available_replicas or 0)),
            generation=int(obj.metadata.generation or 0),
            observed_generation=int(status.observed_generation or 0),
            current=int(status.replicas or 0),
        )

    def replicas(self, kind: WorkloadKind, namespace: str, name: str) -> int:
        """``spec.replicas`` through the scale subresource (the rule ``scale`` needs)."""
        apps = client.AppsV1Api(self._client())
        scale: Any = call(
            f"reading the scale of {kind} {namespace}/{name}",
            lambda: (
                apps.read_namespaced_deployment_scale(name, namespace)
                if kind == "Deployment"
                else apps.read_namespaced_stateful_set_scale(name, namespace)
            ),
        )
        return int(scale.spec.replicas or 0)

    def scale(self, kind: WorkloadKind, namespace: str, name: str, replicas: int) -> None:
        apps = client.AppsV1Api(self._client())
        body = {"spec": {"replicas": replicas}}
        call(
            f"scaling {kind} {namespace}/{name} to {replicas}",
            lambda: (
                apps.patch_namespaced_deployment_scale(name, namespace, body)
                if kind == "Deployment"
                else apps.patch_namespaced_stateful_set_scale(name, namespace, body)
            ),
        )

    def restart(self, kind: WorkloadKind, namespace: str, name: str, at: str) -> None:
        """What ``kubectl rollout restart`` does: stamp the pod template, so the controller
        replaces every pod by its update strategy."""
        apps = client.AppsV1Api(self._client())
        body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: at}}}}}
        call(
            f"restarting {kind} {namespace}/{name}",
            lambda: (
                apps.patch_namespaced_deployment(name, namespace, body)
                if kind == "Deployment"
                else apps.patch_namespaced_stateful_set(name, namespace, body)
            ),
        )

    # -- custom resources --------------------------------------------------------------------

    def served_kinds(self, group: str, version: str) -> dict[str, str]:
        """Kind -> plural of the resources the API server serves in ``group/version``
        (discovery; empty when the group is not installed)."""
        custom = client.CustomObjectsApi(self._client())
        resources: Any = call(
            f"discovering {group}/{version}",
            lambda: custom.get_api_resources(group, version),
            missing_ok=True,
        )
        if resources is None:
            return {}
        return {
            r.kind: r.name
            for r in cast("list[Any]", resources.resources)
            if "/" not in r.name  # subresources such as podchaos/status
        }

    def create_custom(
        self, group: str, version: str, namespace: str, plural: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        custom = client.CustomObjectsApi(self._client())
        created = call(
            f"creating {body.get('kind', plural)} {namespace}/{body['metadata']['name']}",
            # Strict: an unknown field is refused, not silently dropped by the CRD's pruning.
            lambda: custom.create_namespaced_custom_object(
                group, version, namespace, plural, dict(body), field_validation="Strict"
            ),
        )
        return cast("dict[str, Any]", created)

    def get_custom(
        self, group: str, version: str, namespace: str, plural: str, name: str
    ) -> dict[str, Any] | None:
        custom = client.CustomObjectsApi(self._client())
        got = call(
            f"reading {plural} {namespace}/{name}",
            lambda: custom.get_namespaced_custom_object(group, version, namespace, plural, name),
            missing_ok=True,
        )
        return cast("dict[str, Any] | None", got)

    def delete_custom(
        self, group: str, version: str, namespace: str, plural: str, name: str
    ) -> bool:
        """Delete one object; False when it was already gone."""
        custom = client.CustomObjectsApi(self._client())
        deleted = call(
            f"deleting {plural} {namespace}/{name}",
            lambda: custom.delete_namespaced_custom_object(group, version, namespace, plural, name),
            missing_ok=True,
        )
        return deleted is not None
