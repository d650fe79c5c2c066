"""The chart's ServiceAccount may do exactly what the enabled chaos kinds call (403 otherwise),
on the real API server's RBAC authorizer: the chart installed by the real helm, a token minted
for its ServiceAccount, and the chaos actions run with it as the daemon would in its pod.

``monitor/chaos/access.py`` is the single source: the rules the API server reports for the
ServiceAccount (SelfSubjectRulesReview) are exactly ``rules_for(chaos.actions)``; every enabled
kind runs; every other kind fails with "forbidden (HTTP 403)"; nothing is granted outside
``chaos.namespaces``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.chaos.access import ACCESS, rules_for
from monitor.chaos.action import ActionContext
from monitor.chaos.errors import ActionError
from monitor.chaos.registry import build_action
from tests.deploy.chart import CHART
from tests.kube.test_chart_install import FULLNAME, RELEASE, run_helm
from tests.kube.test_control_plane import deployment, rollout
from tests.plugins.kube import ControlPlane

#: Granted to every authenticated user (system:basic-user), not by the chart.
BUILT_IN = {
    ("authorization.k8s.io", "selfsubjectaccessreviews", "create"),
    ("authorization.k8s.io", "selfsubjectrulesreviews", "create"),
    ("authentication.k8s.io", "selfsubjectreviews", "create"),
}


@pytest.fixture
def target(kube_cluster: ControlPlane) -> Iterator[str]:
    """A second namespace: where chaos is aimed (the release lives in ``namespace``)."""
    name = f"chaos-{secrets.token_hex(3)}"
    kube_cluster.kubectl("create", "namespace", name)
    yield name
    kube_cluster.kubectl("delete", "namespace", name, "--wait=false")


def granted(plane: ControlPlane, token: str, namespace: str) -> set[tuple[str, str, str]]:
    """(group, resource, verb) the token's holder may use in ``namespace``, as the API server
    reports them."""
    from kubernetes import client

    body: Any = {"spec": {"namespace": namespace}}
    with plane.api_client(token) as api_client:
        review: Any = client.AuthorizationV1Api(api_client).create_self_subject_rules_review(body)
    out: set[tuple[str, str, str]] = set()
    for rule in review.status.resource_rules:
        for group in rule.api_groups or [""]:
            for resource in rule.resources or []:
                out.update((group, resource, verb) for verb in rule.verbs)
    return out - BUILT_IN


def expected(kinds: list[str]) -> set[tuple[str, str, str]]:
    return {(a.api_group, a.resource, v) for a in rules_for(kinds) for v in a.verbs}


def settings(kind: str, namespace: str) -> dict[str, Any]:
    table: dict[str, dict[str, Any]] = {
        "pod-kill": {"namespace": namespace, "selector": "app=api"},
        "rollout-restart": {"namespace": namespace, "deployment": "api"},
        "scale": {"namespace": namespace, "deployment": "api", "replicas": 2},
        "chaos-mesh": {
            "resource": "PodChaos", "namespace": namespace,
            "spec": {"action": "pod-failure", "mode": "one",
                     "selector": {"labelSelectors": {"app": "api"}}},
        },
    }  # fmt: skip
    return table[kind]


async def run_kind(kind: str, namespace: str) -> None:
    """One whole life cycle of the kind, as the engine runs it."""
    action = build_action(kind, settings(kind, namespace))
    ctx = ActionContext(f"rbac-{kind}", "api")
    record = await action.prepare(ctx)
    try:
        await action.inject(ctx, record)
    finally:
        await action.revert(ctx, record)


@pytest.mark.usefixtures("chaos_mesh_crds")
async def test_the_service_account_may_run_exactly_the_enabled_kinds(
    kube_cluster: ControlPlane,
    namespace: str,
    target: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rollout(kube_cluster, target, deployment("api", replicas=2))
    enabled = ["pod-kill", "scale"]
    values = {"daemon": {"enabled": False},
              "chaos": {"enabled": True, "namespaces": [target], "actions": enabled}}  # fmt: skip
    run_helm(kube_cluster, "install", RELEASE, str(CHART), "-n", namespace,
             "--set-json", f"daemon={json.dumps(values['daemon'])}",
             "--set-json", f"chaos={json.dumps(values['chaos'])}")  # fmt: skip
    try:
        token = kube_cluster.kubectl(
            "create", "token", FULLNAME, "-n", namespace, "--duration=10m"
        ).stdout.strip()
        kubeconfig = kube_cluster.kubeconfig_for(token, tmp_path / "sa.kubeconfig")
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        monkeypatch.setenv("KUBE_FEATURE_WatchListClient", "false")
        for key in ("KUBERNETES_SERVICE_HOST", "POD_NAME", "POD_NAMESPACE"):
            monkeypatch.delenv(key, raising=False)

        for kinds in (enabled, list(ACCESS)):
            # What the API server says the ServiceAccount may do: exactly the kinds' tables.
            assert granted(kube_cluster, token, target) == expected(kinds)
            assert granted(kube_cluster, token, "default") == set()
            for kind in ACCESS:
                if kind in kinds:
                    await run_kind(kind, target)
                else:
                    with pytest.raises(ActionError, match=r"forbidden \(HTTP 403\)"):
                        await run_kind(kind, target)
            # Outside chaos.namespaces nothing is allowed.
            with pytest.raises(ActionError, match=r"forbidden \(HTTP 403\)"):
                await run_kind("pod-kill", "default")
            # Now every kind: the upgraded Role grants the rest.
            values["chaos"]["actions"] = list(ACCESS)  # type: ignore[index]
            run_helm(kube_cluster, "upgrade", RELEASE, str(CHART), "-n", namespace,
                     "--set-json", f"daemon={json.dumps(values['daemon'])}",
                     "--set-json", f"chaos={json.dumps(values['chaos'])}")  # fmt: skip
    finally:
        run_helm(kube_cluster, "uninstall", RELEASE, "-n", namespace, check=False)
