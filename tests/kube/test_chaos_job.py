"""The chart's chaos Job end to end on the control plane: installed by the real helm, its pod's
command line (`soakmon chaos run` on the experiment the chart mounts) runs on this host with the
chart ServiceAccount's token, as it would in the pod, and kills a pod of a Deployment in the
namespace the chart granted; the ReplicaSet replaces it and the report says how fast.

What is not real: the Job's pod itself never runs (kwok completes it); its command line is run
here instead, with the mounted files and the downward API's values it would see, against a
reference target on loopback (the workload the experiment judges).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.chart import CHART
from tests.kube.test_chart_install import FULLNAME, RELEASE, run_helm
from tests.kube.test_control_plane import deployment, rollout, running_pods
from tests.plugins.kube import ControlPlane

SOAKMON = Path(sys.executable).with_name("soakmon")


@pytest.fixture
def target(kube_cluster: ControlPlane) -> Iterator[str]:
    """Where chaos is aimed (the release lives in ``namespace``)."""
    name = f"chaos-{secrets.token_hex(3)}"
    kube_cluster.kubectl("create", "namespace", name)
    yield name
    kube_cluster.kubectl("delete", "namespace", name, "--wait=false")


def experiment(url: str, namespace: str) -> str:
    return yaml.safe_dump(
        {
            "name": "kill-api",
            "target": {"url": url},
            "workload": {"users": 3, "concurrency": 3},
            # The latency SLO is not what this test is about (a busy machine may break it).
            "steady_state": {"baseline": "2s", "slo": False},
            "method": [
                {
                    "name": "kill-one",
                    "kind": "pod-kill",
                    "namespace": namespace,
                    "selector": "app=api",
                    "duration": "4s",
                },
            ],
            "recovery": {"within": "10s", "observe": "2s", "slo": False},
            "guardrails": {"allow": {"namespace": [namespace]}},
        },
        sort_keys=False,
    )


def on_host(value: str, root: Path) -> str:
    """A path inside the pod, where this test put it."""
    return str(root / value.lstrip("/")) if value.startswith("/") else value


async def test_the_chaos_job_kills_a_pod_as_the_charts_service_account(
    kube_cluster: ControlPlane, namespace: str, target: str, reference_url: str, tmp_path: Path
) -> None:
    before = {p.metadata.name for p in rollout(kube_cluster, target, deployment("api", 3))}
    values: dict[str, Any] = {
        "daemon": {"enabled": False},
        "chaos": {
            "enabled": True, "namespaces": [target], "actions": ["pod-kill"],
            "experimentFiles": {"kill-api.yaml": experiment(reference_url, target)},
            "job": {"enabled": True, "experiment": "kill-api.yaml"},
        },
    }  # fmt: skip
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    run_helm(kube_cluster, "install", RELEASE, str(CHART), "-n", namespace, "-f", str(values_file))
    try:
        job = json.loads(
            kube_cluster.kubectl(
                "get", "job", f"{FULLNAME}-chaos", "-n", namespace, "-o", "json"
            ).stdout
        )
        pod = job["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is True
        [container] = pod["containers"]
        # The files the pod mounts, from the ConfigMap in the cluster.
        root = tmp_path / "pod"
        [config] = [v for v in pod["volumes"] if v["name"] == "config"]
        data = json.loads(
            kube_cluster.kubectl(
                "get", "configmap", config["configMap"]["name"], "-n", namespace, "-o", "json"
            ).stdout
        )["data"]
        [mount] = [m for m in container["volumeMounts"] if m["name"] == "config"]
        for item in config["configMap"]["items"]:
            path = root / mount["mountPath"].lstrip("/") / item["path"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(data[item["key"]])
        for m in container["volumeMounts"]:
            (root / m["mountPath"].lstrip("/")).mkdir(parents=True, exist_ok=True)

        # The pod's environment: its ServiceAccount's token, the downward API's values.
        token = kube_cluster.kubectl(
            "create", "token", pod["serviceAccountName"], "-n", namespace, "--duration=10m"
        ).stdout.strip()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "POD_"))}
        env["KUBECONFIG"] = str(kube_cluster.kubeconfig_for(token, tmp_path / "sa.kubeconfig"))
        env["KUBE_FEATURE_WatchListClient"] = "false"
        downward = {"metadata.name": f"{FULLNAME}-chaos-x1y2z", "metadata.namespace": namespace}
        for var in container["env"]:
            if "value" in var:
                env[var["name"]] = on_host(var["value"], root)
            else:
                env[var["name"]] = downward[var["valueFrom"]["fieldRef"]["fieldPath"]]
        args = [on_host(a, root) for a in container["args"]]
        assert args[:2] == ["chaos", "run"]

        proc = await asyncio.create_subprocess_exec(
            str(SOAKMON), *args, env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out = (await asyncio.wait_for(proc.communicate(), 120))[0].decode()
        assert proc.returncode == 0, out
        report = json.loads((root / "var/lib/soakmon/report.json").read_text())
        [action] = report["actions"]
        assert action["result"] == "ok", action
        took = action["measured"]["recovered_after_s"]
        assert took > 0
        after = {p.metadata.name for p in running_pods(kube_cluster, target, "app=api")}
        assert len(after) == 3
        assert len(after - before) == 1
        load = os.getloadavg()[0]
        print(f"\nchaos Job: pod-kill recovered after {took:.2f} s (load {load:.1f})\n{out}")
    finally:
        run_helm(kube_cluster, "uninstall", RELEASE, "-n", namespace, check=False)
