"""The real control plane: validation, controllers, RBAC, and soakmon's kubernetes probe on it.

Everything here is real (kube-apiserver with RBAC, the controller-manager's ReplicaSet and
ServiceAccount controllers, the scheduler) except the node: kwok plays its kubelet, and a
stand-in serves the metrics API that metrics-server would (tests/kube/metrics_standin.py).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from monitor.daemon.config.probes import ProbeConfig
from monitor.daemon.probing import build_probe
from monitor.observe.probes import ProbeError
from tests.kube.conftest import wait_for
from tests.kube.metrics_standin import MEMORY_ANNOTATION, MetricsStandIn
from tests.plugins.kube import NODE_NAME, ControlPlane

MIB = 1024 * 1024


def deployment(name: str, replicas: int = 1, **container: Any) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": "soakmon:test", **container}]},
            },
        },
    }


def running_pods(plane: ControlPlane, namespace: str, selector: str) -> list[Any]:
    from kubernetes import client

    with plane.api_client() as api_client:
        pods = client.CoreV1Api(api_client).list_namespaced_pod(namespace, label_selector=selector)
    return [
        p
        for p in pods.items
        if p.status.phase == "Running" and p.metadata.deletion_timestamp is None
    ]


def rollout(plane: ControlPlane, namespace: str, body: dict[str, Any]) -> list[Any]:
    """Create a Deployment and wait for all its pods to be Running on the kwok node."""
    from kubernetes import client

    with plane.api_client() as api_client:
        client.AppsV1Api(api_client).create_namespaced_deployment(namespace, body)
    name, replicas = body["metadata"]["name"], body["spec"]["replicas"]
    return wait_for(
        f"{replicas} Running pod(s) of {name}",
        lambda: (
            pods if len(pods := running_pods(plane, namespace, f"app={name}")) == replicas else None
        ),
    )


def service_account_token(plane: ControlPlane, namespace: str, name: str) -> str:
    """A token for the ServiceAccount minted through the TokenRequest API (as kubelets do)."""
    from kubernetes import client

    with plane.api_client() as api_client:
        core = client.CoreV1Api(api_client)
        core.create_namespaced_service_account(namespace, {"metadata": {"name": name}})
        request = core.create_namespaced_service_account_token(
            name, namespace, {"spec": {"expirationSeconds": 600}}
        )
    token: str = request.status.token
    return token


def grant(plane: ControlPlane, namespace: str, sa: str, rules: list[dict[str, Any]]) -> None:
    from kubernetes import client

    with plane.api_client() as api_client:
        rbac = client.RbacAuthorizationV1Api(api_client)
        rbac.create_namespaced_role(namespace, {"metadata": {"name": sa}, "rules": rules})
        rbac.create_namespaced_role_binding(
            namespace,
            {
                "metadata": {"name": sa},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": sa},
                "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": namespace}],
            },
        )


PROBE_RULES = [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
    {"apiGroups": ["metrics.k8s.io"], "resources": ["pods"], "verbs": ["get", "list"]},
]


def probe_as(kubeconfig: Path, monkeypatch: pytest.MonkeyPatch, namespace: str, selector: str):  # type: ignore[no-untyped-def]
    """The probe exactly as the daemon builds it from its config, credentials from KUBECONFIG."""
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    cfg = ProbeConfig(kind="kubernetes", name="pods", namespace=namespace, selector=selector)
    return build_probe(cfg)


def test_the_control_plane_is_kubernetes_1_34_with_a_ready_node(kube_cluster: ControlPlane) -> None:
    version = kube_cluster.kubectl("version", "-o", "json").stdout
    assert '"gitVersion": "v1.34.2"' in version
    nodes = kube_cluster.kubectl("get", "nodes", "-o", "name").stdout.split()
    assert nodes == [f"node/{NODE_NAME}"]


def test_an_invalid_security_context_is_rejected_by_the_api_server(
    kube_cluster: ControlPlane, namespace: str
) -> None:
    """Server-side validation is real: the same manifest passes once the bad value is gone."""
    import json

    good = deployment("api", securityContext={"runAsNonRoot": True, "runAsUser": 10001})
    bad_value = deployment("api", securityContext={"runAsNonRoot": True, "runAsUser": -1})
    bad_field = deployment("api", securityContext={"runAsNonRoot": True, "runAsUsr": 10001})

    def dry_run(body: dict[str, Any]) -> Any:
        return kube_cluster.kubectl(
            "apply",
            "-n",
            namespace,
            "--dry-run=server",
            "-f",
            "-",
            check=False,
            stdin=json.dumps(body),
        )

    assert dry_run(good).returncode == 0, dry_run(good).stderr
    rejected = dry_run(bad_value)
    assert rejected.returncode != 0
    assert "spec.template.spec.containers[0].securityContext.runAsUser" in rejected.stderr
    assert "must be between 0 and 2147483647" in rejected.stderr
    rejected = dry_run(bad_field)
    assert rejected.returncode != 0
    assert 'unknown field "spec.template.spec.containers[0].securityContext.runAsUsr"' in (
        rejected.stderr
    )


def test_a_deleted_pod_is_replaced_by_its_replicaset_and_runs(
    kube_cluster: ControlPlane, namespace: str
) -> None:
    from kubernetes import client

    [pod] = rollout(kube_cluster, namespace, deployment("api"))
    assert pod.spec.node_name == NODE_NAME  # bound by the real scheduler
    t0 = time.monotonic()
    with kube_cluster.api_client() as api_client:
        client.CoreV1Api(api_client).delete_namespaced_pod(pod.metadata.name, namespace)
    [replacement] = wait_for(
        "a Running replacement pod",
        lambda: [
            p
            for p in running_pods(kube_cluster, namespace, "app=api")
            if p.metadata.name != pod.metadata.name
        ],
        timeout_s=20,
    )
    took = time.monotonic() - t0
    owner = replacement.metadata.owner_references[0]
    assert (owner.kind, owner.name) == ("ReplicaSet", pod.metadata.owner_references[0].name)
    assert replacement.spec.node_name == NODE_NAME
    print(f"replacement Running {took:.1f} s after the delete")


async def test_rbac_lets_the_probes_calls_through_and_nothing_more(
    kube_cluster: ControlPlane,
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    [pod] = rollout(kube_cluster, namespace, deployment("api"))
    token = service_account_token(kube_cluster, namespace, "soakmon")
    grant(kube_cluster, namespace, "soakmon", PROBE_RULES)
    kubeconfig = kube_cluster.kubeconfig_for(token, tmp_path / "sa.kubeconfig")

    # The probe's calls are let through: listing pods works, and the metrics read is refused
    # only because no metrics API is served (404), not by the authorizer.
    probe = probe_as(kubeconfig, monkeypatch, namespace, "app=api")
    with pytest.raises(ProbeError, match="metrics API not available") as absent:
        await probe.read()
    assert "forbidden" not in str(absent.value)

    # Outside the granted rules: 403 from the real authorizer.
    with kube_cluster.api_client(token) as api_client:
        core = client.CoreV1Api(api_client)
        assert len(core.list_namespaced_pod(namespace).items) == 1
        with pytest.raises(ApiException) as denied:
            core.delete_namespaced_pod(pod.metadata.name, namespace)
        assert denied.value.status == 403
        with pytest.raises(ApiException) as denied:
            core.list_namespaced_secret("kube-system")
        assert denied.value.status == 403
        with pytest.raises(ApiException) as denied:
            client.AppsV1Api(api_client).patch_namespaced_deployment(
                "api", namespace, {"spec": {"replicas": 2}}
            )
        assert denied.value.status == 403
    # The probe pointed at a namespace it has no rule in names the refusal.
    other = probe_as(kubeconfig, monkeypatch, "kube-system", "app=api")
    with pytest.raises(ProbeError, match=r"forbidden \(HTTP 403\).*cannot list resource \"pods\""):
        await other.read()


async def test_kubernetes_probe_reads_pod_memory_through_an_aggregated_metrics_api(
    kube_cluster: ControlPlane,
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rollout(
        kube_cluster,
        namespace,
        {
            **(d := deployment("api", replicas=2)),
            "spec": {
                **d["spec"],
                "template": {
                    **d["spec"]["template"],
                    "metadata": {
                        "labels": {"app": "api"},
                        "annotations": {MEMORY_ANNOTATION: "150Mi"},
                    },
                },
            },
        },
    )
    rollout(kube_cluster, namespace, deployment("other"))
    token = service_account_token(kube_cluster, namespace, "soakmon")
    grant(kube_cluster, namespace, "soakmon", PROBE_RULES)
    probe = probe_as(
        kube_cluster.kubeconfig_for(token, tmp_path / "sa.kubeconfig"),
        monkeypatch,
        namespace,
        "app=api",
    )
    with pytest.raises(ProbeError, match="metrics API not available"):
        await probe.read()

    standin = MetricsStandIn(kube_cluster, tmp_path)
    port = standin.start()
    try:
        standin.register(port)
        values = await probe.read()
        assert values == {
            "memory_bytes": 300 * MIB,
            "max_pod_memory_bytes": 150 * MIB,
            "pods": 2,
        }
        # The selector travelled through the aggregator to the metrics server.
        assert f"{namespace}?app=api" in standin.requests
        nobody = probe_as(tmp_path / "sa.kubeconfig", monkeypatch, namespace, "app=nothing")
        with pytest.raises(ProbeError, match="no pods match 'app=nothing'"):
            await nobody.read()
    finally:
        standin.unregister()
        standin.stop()
