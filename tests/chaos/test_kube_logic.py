"""The pure parts of the Kubernetes kinds: which pods a pod-kill picks (count/percent, the
maxUnavailable budget, never the monitor's own pod), which namespaces are refused, the Chaos
Mesh manifests, and the settings' validation. The API calls are tested on the real control
plane in tests/kube/test_chaos_*.py."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from pydantic import ValidationError

from monitor.chaos.access import ACCESS, API_ACCESS, rules_for
from monitor.chaos.action import Action
from monitor.chaos.errors import Refused
from monitor.chaos.guards import Policy, check
from monitor.chaos.kube.api import PodState
from monitor.chaos.kube.chaosmesh import manifest, resource_name, selected_namespaces
from monitor.chaos.kube.identity import Identity, namespace_refusal, own_identity
from monitor.chaos.kube.victims import Budget, NoVictims, pick_victims, wanted
from monitor.chaos.registry import ACTIONS, build_action


def pods(ready: int, not_ready: int = 0, deleting: int = 0) -> list[PodState]:
    out = [PodState(f"r{i}", "Running", True, False, 0.0) for i in range(ready)]
    out += [PodState(f"n{i}", "Pending", False, False, 0.0) for i in range(not_ready)]
    out += [PodState(f"d{i}", "Running", False, True, 0.0) for i in range(deleting)]
    return out


def pick(items: list[PodState], **kw: object) -> tuple[str, ...]:
    args: dict[str, object] = {
        "count": 1, "percent": None, "max_unavailable": Budget(1), "own_pod": None,
        "rng": random.Random(7), "where": "'app=api' in staging",
    }  # fmt: skip
    args.update(kw)
    return pick_victims(items, **args).victims  # type: ignore[arg-type]


def test_count_and_percent() -> None:
    assert len(pick(pods(5), count=2, max_unavailable=Budget(2))) == 2
    assert wanted(None, 50, 5) == 2  # rounded down
    assert wanted(None, 1, 5) == 1  # but never zero
    assert wanted(None, 100, 5) == 5
    assert wanted(7, None, 3) == 3
    assert len(pick(pods(4), count=None, percent=50, max_unavailable=Budget(50, True))) == 2


def test_max_unavailable_counts_pods_already_down() -> None:
    # 3 ready + 1 not ready: killing one ready pod makes 2 unavailable.
    with pytest.raises(NoVictims, match=r"leave 2 unavailable \(1 already.*max_unavailable 1"):
        pick(pods(3, not_ready=1), count=2)
    # ... but a not-ready pod is picked first and costs nothing.
    assert pick(pods(3, not_ready=1), count=1) == ("n0",)
    # A pod still terminating from an earlier kill counts as unavailable.
    with pytest.raises(NoVictims, match="max_unavailable 1"):
        pick(pods(3, deleting=1), count=1)
    # Percentages round up like a PodDisruptionBudget's: 25% of 5 pods is 2.
    assert len(pick(pods(5), count=2, max_unavailable=Budget.parse("25%"))) == 2
    with pytest.raises(NoVictims):
        pick(pods(5), count=3, max_unavailable=Budget.parse("25%"))
    assert Budget.parse("3") == Budget(3)
    with pytest.raises(ValueError, match="percentage like"):
        Budget.parse("lots")


def test_never_the_monitors_own_pod() -> None:
    items = pods(3)
    for seed in range(20):
        got = pick(items, own_pod="r1", rng=random.Random(seed), max_unavailable=Budget(2), count=2)
        assert "r1" not in got
    with pytest.raises(NoVictims, match=r"only pod matching .* is the monitor's own"):
        pick(pods(1), own_pod="r0")
    with pytest.raises(NoVictims, match="no live pods match"):
        pick([])


def test_namespaces_refused_unless_allowed_by_name(tmp_path: Path) -> None:
    me = Identity(pod="soak-0", namespace="soak")
    assert namespace_refusal("staging", (), me) is None
    assert "refused unless" in str(namespace_refusal("kube-system", (), me))
    assert "monitor's own" in str(namespace_refusal("soak", (), me))
    assert namespace_refusal("soak", ("soak",), me) is None
    assert namespace_refusal("kube-system", ("kube-system",), me) is None
    assert "not in the allowed namespaces (staging)" in str(
        namespace_refusal("prod", ("staging",), me)
    )
    # Identity: the downward API's env, else the ServiceAccount's namespace file.
    sa = tmp_path / "namespace"
    sa.write_text("from-sa\n")
    assert own_identity({"POD_NAME": "p", "POD_NAMESPACE": "ns"}, sa) == Identity("p", "ns")
    assert own_identity({}, sa) == Identity(None, "from-sa")
    assert own_identity({}, tmp_path / "missing") == Identity(None, None)


def test_the_guard_refuses_through_the_engines_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POD_NAMESPACE", "soak")
    kill = build_action("pod-kill", {"namespace": "soak", "selector": "app=api"})
    with pytest.raises(Refused, match="soak is the monitor's own"):
        check(kill, Policy())
    check(kill, Policy({"namespace": ("soak",)}))
    mesh = build_action(
        "chaos-mesh",
        {
            "resource": "NetworkChaos", "namespace": "staging",
            "spec": {"action": "delay", "mode": "all",
                     "selector": {"namespaces": ["staging", "kube-system"]}},
        },
    )  # fmt: skip
    # The selector reaches kube-system although the resource lives in staging.
    with pytest.raises(Refused, match="namespace kube-system is refused"):
        check(mesh, Policy())


def test_chaos_mesh_manifest() -> None:
    body = manifest(
        "NetworkChaos", "staging", "exp1.Step_2", {"action": "delay", "mode": "one"}, 30
    )
    assert body["apiVersion"] == "chaos-mesh.org/v1alpha1"
    assert body["metadata"]["name"] == "soakmon-exp1-step-2"
    assert body["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "soakmon"
    assert body["spec"] == {"action": "delay", "mode": "one", "duration": "30s"}
    assert manifest("PodChaos", "s", "x", {"action": "pod-kill"}, 1.5)["spec"]["duration"] == (
        "1500ms"
    )
    assert len(resource_name("x" * 100)) == 63
    assert selected_namespaces({"selector": {"labelSelectors": {"a": "b"}}}, "own") == ["own"]
    assert selected_namespaces(
        {"selector": {"pods": {"a": ["p"]}}, "target": {"selector": {"namespaces": ["b"]}}}, "own"
    ) == ["a", "b"]


def test_settings_are_validated_at_load() -> None:
    with pytest.raises(ValidationError, match="one of `count` and `percent`"):
        build_action("pod-kill", {"namespace": "s", "selector": "a=b", "count": 1, "percent": 5})
    with pytest.raises(ValidationError, match="percentage like"):
        build_action("pod-kill", {"namespace": "s", "selector": "a=b", "maxUnavailable": "x"})
    with pytest.raises(ValidationError, match="namespace"):
        build_action("scale", {"namespace": "Bad_NS", "deployment": "api", "replicas": 1})
    with pytest.raises(ValidationError, match=r"spec\.duration is set from the step"):
        build_action(
            "chaos-mesh",
            {"resource": "PodChaos", "namespace": "s", "spec": {"duration": "1m"}},
        )
    with pytest.raises(ValidationError, match="resource"):
        build_action("chaos-mesh", {"resource": "TimeChaos", "namespace": "s", "spec": {"a": 1}})
    kill = build_action("pod-kill", {"namespace": "s", "selector": "a=b", "maxUnavailable": "50%"})
    assert "delete 1 pod(s) matching 'a=b' in s" in kill.describe()


def test_every_kubernetes_kind_declares_the_access_table() -> None:
    kube_kinds = {"pod-kill", "rollout-restart", "scale", "chaos-mesh"}
    assert kube_kinds <= set(ACTIONS)
    for name, kind in ACTIONS.items():
        assert kind.access == ACCESS.get(name, ()), name
        assert issubclass(kind.action, Action)
    assert set(ACCESS) == kube_kinds
    assert rules_for(["pod-kill"]) == API_ACCESS
    assert len(rules_for(list(ACCESS))) == sum(len(v) for v in ACCESS.values())
