"""The Kubernetes chaos kinds on the real control plane (tests/plugins/kube.py), driven by the
real action engine and journal: pod-kill (the ReplicaSet replaces the pods, recovery measured),
scale and back (also after the process holding the fault was SIGKILLed), rollout restart.

What is not real: kwok plays the kubelet, so a replacement pod is "ready" as soon as it is bound
to the node (no image pull, no readiness probe): the recovery times measured here are the
control plane's own (controllers, scheduler, API server), a floor for a real cluster.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from monitor.chaos.action import ActionContext, Record
from monitor.chaos.engine import ActionEngine, revert_entries
from monitor.chaos.errors import ActionError
from monitor.chaos.journal import Journal
from monitor.chaos.registry import build_action
from tests.kube.conftest import wait_for
from tests.kube.test_control_plane import deployment, rollout, running_pods
from tests.plugins.kube import ControlPlane

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def admin(kube_cluster: ControlPlane, monkeypatch: pytest.MonkeyPatch) -> ControlPlane:
    """Actions load their credentials as in a user's shell: the admin kubeconfig in KUBECONFIG,
    not in a pod (no downward-API identity)."""
    for key, value in kube_cluster.env().items():
        if key.startswith("KUBE"):
            monkeypatch.setenv(key, value)
    for key in ("KUBERNETES_SERVICE_HOST", "POD_NAME", "POD_NAMESPACE"):
        monkeypatch.delenv(key, raising=False)
    return kube_cluster


def ready_pods(plane: ControlPlane, namespace: str, selector: str) -> list[str]:
    return sorted(
        p.metadata.name
        for p in running_pods(plane, namespace, selector)
        if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or ())
    )


async def lifecycle(kind: str, settings: dict[str, Any], ctx_id: str) -> Record:
    """prepare -> inject -> revert of one action, returning its final record (the measurements
    the engine does not expose yet)."""
    action = build_action(kind, settings)
    ctx = ActionContext(ctx_id, "api")
    record = await action.prepare(ctx)
    await action.inject(ctx, record)
    await action.revert(ctx, record)
    return record


async def test_pod_kill_by_selector_is_replaced_and_recovery_is_measured(
    admin: ControlPlane, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = {p.metadata.name for p in rollout(admin, namespace, deployment("api", replicas=3))}
    own = sorted(before)[0]
    # soakmon runs as one of these pods (downward API): it is never picked.
    monkeypatch.setenv("POD_NAME", own)
    settings = {"namespace": namespace, "selector": "app=api", "count": 2, "maxUnavailable": 2}
    record = await lifecycle("pod-kill", settings, "kill-1")

    victims = set(record["victims"])
    assert len(victims) == 2
    assert own not in victims
    assert victims <= before
    assert set(record["deleted"]) == victims
    now = ready_pods(admin, namespace, "app=api")
    assert len(now) == 3
    assert own in now
    assert not victims & set(now)
    took = record["measured"]["recovered_after_s"]
    assert 0 < took < 45
    load = os.getloadavg()[0]
    print(f"\npod-kill 2 of 3: ready count back after {took:.2f} s (load {load:.1f})")


async def test_pod_kill_through_the_engine_and_its_guards(
    admin: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    before = {p.metadata.name for p in rollout(admin, namespace, deployment("api", replicas=2))}
    engine = ActionEngine(Journal(tmp_path))
    kill = build_action("pod-kill", {"namespace": namespace, "selector": "app=api"})
    # The test watches too: when does it first see two ready pods, one of them new?
    seen_at: list[float] = []

    async def observe() -> None:
        async with asyncio.timeout(30):
            while not seen_at:
                now = await asyncio.to_thread(ready_pods, admin, namespace, "app=api")
                if len(now) == 2 and set(now) != before:
                    seen_at.append(time.time())
                await asyncio.sleep(0.05)

    observer = asyncio.create_task(observe())
    hold_s = 6.0
    run = await engine.run(kill, ActionContext("kill-2", "api"), duration_s=hold_s)
    await observer
    assert (run.result, run.error) == ("ok", None)
    # The recovery time is in the run's report, measured while the step was held (not the
    # hold itself): at most what the test saw, plus the watch's polling interval.
    measured = run.to_json()["measured"]["recovered_after_s"]
    assert run.injected_at is not None
    observed = seen_at[0] - run.injected_at
    assert 0 < measured <= observed + 0.5, (measured, observed)
    if observed < hold_s - 1:
        assert measured < hold_s
    assert len(set(ready_pods(admin, namespace, "app=api")) - before) == 1
    assert Journal(tmp_path).entries() == []

    # Both pods at once is more than the default maxUnavailable (1): refused, nothing deleted.
    ready = ready_pods(admin, namespace, "app=api")
    both = build_action("pod-kill", {"namespace": namespace, "selector": "app=api", "count": 2})
    # (prepare refuses: the engine raises before anything is journaled or injected)
    with pytest.raises(ActionError, match=r"would leave 2 unavailable.*max_unavailable 1"):
        await engine.run(both, ActionContext("kill-3", "api"), duration_s=0)
    assert ready_pods(admin, namespace, "app=api") == ready
    assert Journal(tmp_path).entries() == []

    # A selector that matches nothing names the namespace and the selector.
    none = build_action("pod-kill", {"namespace": namespace, "selector": "app=nope"})
    with pytest.raises(ActionError, match=f"no live pods match 'app=nope' in {namespace}"):
        await engine.run(none, ActionContext("kill-4", "api"), duration_s=0)


async def test_scale_to_zero_and_back(admin: ControlPlane, namespace: str, tmp_path: Path) -> None:
    rollout(admin, namespace, deployment("api", replicas=2))
    engine = ActionEngine(Journal(tmp_path))
    scale = build_action("scale", {"namespace": namespace, "deployment": "api", "replicas": 0})
    # Seen while the fault is held: no pod left.
    seen: list[int] = []

    async def hold_and_look() -> None:
        async with asyncio.timeout(20):
            while not seen or seen[-1] != 0:
                await asyncio.sleep(0.2)
                seen.append(len(ready_pods(admin, namespace, "app=api")))

    looker = asyncio.create_task(hold_and_look())
    run = await engine.run(scale, ActionContext("scale-1", "api"), duration_s=3)
    await looker
    assert run.result == "ok", run.error
    assert seen[-1] == 0
    took = run.measured["recovered_after_s"]
    load = os.getloadavg()[0]
    print(f"\nscale 0 -> 2: both pods ready {took:.2f} s after the revert (load {load:.1f})")
    assert len(ready_pods(admin, namespace, "app=api")) == 2


def _apps(plane: ControlPlane, namespace: str, name: str) -> dict[str, Any]:
    out = plane.kubectl("get", "deployment", name, "-n", namespace, "-o", "json").stdout
    result: dict[str, Any] = json.loads(out)
    return result


def test_scale_is_reverted_after_a_sigkill_mid_fault(
    admin: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    """The process holding the fault dies (SIGKILL): the next start finds the journal entry and
    restores the recorded replicas."""
    rollout(admin, namespace, deployment("api", replicas=2))
    script = textwrap.dedent(f"""
        import asyncio
        from pathlib import Path
        from monitor.chaos.action import ActionContext
        from monitor.chaos.engine import ActionEngine
        from monitor.chaos.journal import Journal
        from monitor.chaos.registry import build_action

        action = build_action("scale", {{"namespace": {namespace!r}, "deployment": "api",
                                         "replicas": 0}})
        engine = ActionEngine(Journal(Path({str(tmp_path)!r})))
        asyncio.run(engine.run(action, ActionContext("scale-crash", "api"), duration_s=120))
    """)
    child = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, env=os.environ.copy(),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:

        def injected() -> bool:
            if child.poll() is not None:
                pytest.fail(f"the child exited early: {child.communicate()[0].decode()}")
            entries = Journal(tmp_path).entries()
            return bool(entries) and entries[0].state == "injected"

        wait_for("the scale to be injected and journaled", injected, timeout_s=30)
        wait_for(
            "the Deployment at 0 replicas",
            lambda: _apps(admin, namespace, "api")["spec"]["replicas"] == 0,
        )
    finally:
        child.send_signal(signal.SIGKILL)
        out = child.communicate(timeout=10)[0]
    assert child.returncode == -signal.SIGKILL, out

    journal = Journal(tmp_path)
    [orphan] = journal.orphans()
    assert orphan.record["replicas_before"] == 2
    [(_entry, error)] = asyncio.run(revert_entries(journal, [orphan]))
    assert error is None
    assert _apps(admin, namespace, "api")["spec"]["replicas"] == 2
    assert len(ready_pods(admin, namespace, "app=api")) == 2
    assert journal.entries() == []


async def test_rollout_restart_replaces_every_pod(admin: ControlPlane, namespace: str) -> None:
    before = {p.metadata.name for p in rollout(admin, namespace, deployment("api", replicas=2))}
    record = await lifecycle(
        "rollout-restart", {"namespace": namespace, "deployment": "api"}, "restart-1"
    )
    after = set(ready_pods(admin, namespace, "app=api"))
    assert len(after) == 2
    assert not after & before
    template = _apps(admin, namespace, "api")["spec"]["template"]["metadata"]
    assert "kubectl.kubernetes.io/restartedAt" in template["annotations"]
    took = record["measured"]["rolled_out_after_s"]
    print(
        f"\nrollout restart of 2 pods complete after {took:.2f} s (load {os.getloadavg()[0]:.1f})"
    )


async def test_missing_workloads_and_credentials_are_named(
    admin: ControlPlane, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for kind, extra in (("scale", {"replicas": 1}), ("rollout-restart", {})):
        action = build_action(kind, {"namespace": namespace, "deployment": "ghost", **extra})
        with pytest.raises(ActionError, match=f"Deployment {namespace}/ghost.*not found"):
            await action.prepare(ActionContext("x", "api"))
    monkeypatch.setenv("KUBECONFIG", "/nonexistent/kubeconfig")
    kill = build_action("pod-kill", {"namespace": namespace, "selector": "app=api"})
    with pytest.raises(ActionError, match="no Kubernetes credentials"):
        await kill.prepare(ActionContext("x", "api"))


def statefulset(name: str, replicas: int) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "db", "image": "db:1"}]},
            },
        },
    }


def pod_uids(plane: ControlPlane, namespace: str, selector: str) -> set[str]:
    return {
        p.metadata.uid
        for p in running_pods(plane, namespace, selector)
        if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or ())
    }


async def test_a_statefulset_is_restarted_and_scaled_to_zero_and_back(
    admin: ControlPlane, namespace: str
) -> None:
    """StatefulSet pods keep their names (db-0, db-1): a restart is told by their uids."""
    admin.kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(statefulset("db", 2)))

    def two_ready() -> set[str] | None:
        uids = pod_uids(admin, namespace, "app=db")
        return uids if len(uids) == 2 else None

    before = wait_for("2 ready db pods", two_ready)
    record = await lifecycle(
        "rollout-restart", {"namespace": namespace, "statefulset": "db"}, "sts-restart"
    )
    after = pod_uids(admin, namespace, "app=db")
    assert len(after) == 2
    assert not after & before
    assert record["measured"]["rolled_out_after_s"] > 0

    scale = {"namespace": namespace, "statefulset": "db", "replicas": 0}
    action = build_action("scale", scale)
    ctx = ActionContext("sts-scale", "db")
    record = await action.prepare(ctx)
    assert record == {"replicas_before": 2}
    await action.inject(ctx, record)
    wait_for("no db pod", lambda: not running_pods(admin, namespace, "app=db"))
    await action.revert(ctx, record)
    sts = json.loads(admin.kubectl("get", "statefulset", "db", "-n", namespace, "-o",
                                   "json").stdout)  # fmt: skip
    assert sts["spec"]["replicas"] == 2
    assert len(pod_uids(admin, namespace, "app=db")) == 2
