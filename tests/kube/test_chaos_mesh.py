"""The chaos-mesh kind against Chaos Mesh's real CRDs (those of the five kinds, from
``manifests/crd.yaml`` of github.com/chaos-mesh/chaos-mesh, fetched by ``make crds``) installed
in the test control plane: the API server validates every resource soakmon creates against
their OpenAPI schemas.

What is not real: no Chaos Mesh controller runs, so nothing injects the fault into the pods
(no finalizer either: the delete on revert is immediate). What is proven is the part soakmon
owns: discovery, the resource soakmon creates being accepted (or refused naming the field),
its name, labels and duration, and its deletion on revert and after a crash.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from monitor.chaos.access import CHAOS_MESH_KINDS
from monitor.chaos.action import ActionContext
from monitor.chaos.engine import ActionEngine, revert_entries
from monitor.chaos.errors import ActionError
from monitor.chaos.journal import Entry, Journal
from monitor.chaos.registry import build_action
from tests.plugins.crds import install_crds, remove_crds
from tests.plugins.kube import ControlPlane


@pytest.fixture
def crds(chaos_mesh_crds: Path) -> Path:
    return chaos_mesh_crds


@pytest.fixture
def chaos_mesh(kube_cluster: ControlPlane, crds: Path) -> ControlPlane:
    return kube_cluster


@pytest.fixture
def admin(chaos_mesh: ControlPlane, monkeypatch: pytest.MonkeyPatch) -> ControlPlane:
    for key, value in chaos_mesh.env().items():
        if key.startswith("KUBE"):
            monkeypatch.setenv(key, value)
    for key in ("KUBERNETES_SERVICE_HOST", "POD_NAME", "POD_NAMESPACE"):
        monkeypatch.delenv(key, raising=False)
    return chaos_mesh


def specs(namespace: str) -> dict[str, dict[str, Any]]:
    """A valid spec of each kind, as Chaos Mesh's docs write them."""
    selector = {"namespaces": [namespace], "labelSelectors": {"app": "api"}}
    return {
        "PodChaos": {"action": "pod-failure", "mode": "one", "selector": selector},
        "NetworkChaos": {
            "action": "delay", "mode": "all", "selector": selector,
            "delay": {"latency": "200ms", "jitter": "100ms", "correlation": "25"},
        },
        "StressChaos": {
            "mode": "one", "selector": selector,
            "stressors": {"cpu": {"workers": 1, "load": 50}, "memory": {"workers": 1,
                                                                       "size": "64MB"}},
        },
        "IOChaos": {
            "action": "latency", "mode": "one", "selector": selector, "volumePath": "/data",
            "path": "/data/**/*", "delay": "100ms", "percent": 50,
        },
        "HTTPChaos": {
            "mode": "all", "selector": selector, "target": "Request", "port": 8000,
            "path": "/points/*", "method": "POST", "abort": True,
        },
    }  # fmt: skip


def contains(got: Any, want: Any) -> bool:
    if isinstance(want, dict):
        return isinstance(got, dict) and all(
            k in got and contains(got[k], v) for k, v in want.items()
        )
    return bool(got == want)


def get(plane: ControlPlane, namespace: str, plural: str) -> list[dict[str, Any]]:
    import json

    out = plane.kubectl("get", f"{plural}.chaos-mesh.org", "-n", namespace, "-o", "json").stdout
    items: list[dict[str, Any]] = json.loads(out)["items"]
    return items


@pytest.mark.parametrize("kind", list(CHAOS_MESH_KINDS))
async def test_each_kind_is_accepted_held_and_deleted_on_revert(
    admin: ControlPlane, namespace: str, tmp_path: Path, kind: str
) -> None:
    plural = kind.lower()
    engine = ActionEngine(Journal(tmp_path))
    action = build_action(
        "chaos-mesh", {"resource": kind, "namespace": namespace, "spec": specs(namespace)[kind]}
    )
    seen: list[dict[str, Any]] = []

    async def look() -> None:
        async with asyncio.timeout(20):
            while not seen:
                seen.extend(await asyncio.to_thread(get, admin, namespace, plural))
                await asyncio.sleep(0.1)

    looker = asyncio.create_task(look())
    run = await engine.run(action, ActionContext(f"exp-{plural}", "api"), duration_s=1.5)
    await looker
    assert (run.result, run.error) == ("ok", None)
    [obj] = seen
    assert obj["metadata"]["name"] == f"soakmon-exp-{plural}"
    assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "soakmon"
    # What was asked is there (the CRD's defaults may add fields such as oomScoreAdj).
    assert contains(obj["spec"], specs(namespace)[kind])
    assert obj["spec"]["duration"] == "1500ms"
    assert get(admin, namespace, plural) == []  # deleted on revert
    assert Journal(tmp_path).entries() == []


async def test_a_wrong_field_or_value_is_refused_by_the_api_server(
    admin: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    engine = ActionEngine(Journal(tmp_path))
    spec = specs(namespace)["NetworkChaos"]
    cases = {
        # A typo: refused (strict field validation), not silently pruned by the CRD.
        "typo": ({**spec, "delay": {"latancy": "200ms"}}, 'unknown field "spec.delay.latancy"'),
        "enum": ({**spec, "action": "explode"}, 'spec.action: Unsupported value: "explode"'),
        "missing": ({k: v for k, v in spec.items() if k != "selector"}, "spec.selector: Required"),
    }
    for case, (bad, message) in cases.items():
        action = build_action(
            "chaos-mesh", {"resource": "NetworkChaos", "namespace": namespace, "spec": bad}
        )
        run = await engine.run(action, ActionContext(f"bad-{case}", "api"), duration_s=5)
        assert run.result == "failed", case
        assert "refused by the API server" in str(run.error), run.error
        assert message in str(run.error), run.error
    assert get(admin, namespace, "networkchaos") == []
    assert Journal(tmp_path).entries() == []


async def test_a_resource_left_by_a_dead_run_is_deleted_on_the_next_start(
    admin: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    settings = {"resource": "PodChaos", "namespace": namespace,
                "spec": specs(namespace)["PodChaos"]}  # fmt: skip
    action = build_action("chaos-mesh", settings)
    ctx = ActionContext("crashed", "api")
    record = await action.prepare(ctx)
    journal = Journal(tmp_path)
    entry = journal.add(Entry(ctx.id, "chaos-mesh", "api", "", settings, dict(record)))
    await action.inject(ctx, record)
    assert len(get(admin, namespace, "podchaos")) == 1
    # The next start rebuilds the action from the journal alone.
    [(_, error)] = await revert_entries(journal, [entry])
    assert error is None
    assert get(admin, namespace, "podchaos") == []


async def test_kinds_whose_crd_is_missing_are_named(
    admin: ControlPlane, namespace: str, crds: Path
) -> None:
    remove_crds(admin, ["httpchaos.chaos-mesh.org"])
    try:
        action = build_action(
            "chaos-mesh",
            {
                "resource": "HTTPChaos",
                "namespace": namespace,
                "spec": specs(namespace)["HTTPChaos"],
            },
        )
        with pytest.raises(
            ActionError,
            match=r"does not serve HTTPChaos.*its CRD httpchaos\.chaos-mesh\.org is not installed",
        ):
            await action.prepare(ActionContext("x", "api"))
    finally:
        install_crds(admin, crds)
