"""`helm install` into the real control plane (tests/plugins/kube.py): the API server accepts
every object of the chart (server-side validation, admission, RBAC escalation checks), the Job's
pod spec is what Kubernetes stores and runs, and the ServiceAccount can do exactly what the
enabled features need."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.chart import CHART, HELM, find, helm, render
from tests.plugins.kube import ControlPlane

pytestmark = pytest.mark.slow


def _helm(plane: ControlPlane, *args: str) -> subprocess.CompletedProcess[str]:
    helm()
    return subprocess.run(
        [str(HELM), *args], capture_output=True, text=True, timeout=180, env=plane.env(),
        check=False,
    )  # fmt: skip


def _get(plane: ControlPlane, *args: str) -> Any:
    return json.loads(plane.kubectl("get", *args, "-o", "json").stdout)


def _can(plane: ControlPlane, verb: str, resource: str, namespace: str) -> bool:
    """The API server's authorizer on the release's ServiceAccount (a SubjectAccessReview, so
    groups that no server serves here, like metrics.k8s.io, are asked about too)."""
    name, _, group = resource.partition(".")
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": "system:serviceaccount:soak:rel-soakmon",
            "groups": ["system:serviceaccounts", "system:serviceaccounts:soak"],
            "resourceAttributes": {
                "namespace": namespace, "verb": verb, "group": group, "resource": name,
            },
        },
    }  # fmt: skip
    proc = plane.kubectl("create", "-f", "-", "-o", "json", stdin=json.dumps(review))
    return bool(json.loads(proc.stdout)["status"].get("allowed"))


def test_install_is_accepted_and_stored_as_rendered(
    kube_cluster: ControlPlane, tmp_path: Path
) -> None:
    plane = kube_cluster
    for ns in ("staging", "databases"):  # where the kubernetes probes' Roles go
        plane.kubectl("create", "namespace", ns, check=False)
    values = tmp_path / "values.yaml"
    # The one-shot Job and the daemon with kubernetes probes in two namespaces, together.
    extra = "job: {enabled: true}\nrun: {target: http://api.staging.svc:8000}\n"
    values.write_text((CHART / "ci" / "kube-probe-values.yaml").read_text() + extra)
    proc = _helm(plane, "install", "rel", str(CHART), "-n", "soak", "--create-namespace",
                 "-f", str(values))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    try:
        rendered = render(values)
        rendered = [
            o for o in rendered if "helm.sh/hook" not in o["metadata"].get("annotations", {})
        ]
        for obj in rendered:
            ns = obj["metadata"].get("namespace")
            got = _get(plane, obj["kind"], obj["metadata"]["name"], *(["-n", ns] if ns else []))
            assert got["metadata"]["name"] == obj["metadata"]["name"]

        # The Job as Kubernetes stores it: our pod spec, with only defaults added.
        (job,) = find(rendered, "Job")
        stored = _get(plane, "job", "rel-soakmon-run", "-n", "soak")
        want_pod, got_pod = job["spec"]["template"]["spec"], stored["spec"]["template"]["spec"]
        want_c, got_c = want_pod["containers"][0], got_pod["containers"][0]
        assert got_c["args"] == want_c["args"]
        assert got_c["securityContext"] == want_c["securityContext"]
        assert got_c["volumeMounts"] == want_c["volumeMounts"]
        assert got_pod["securityContext"] == want_pod["securityContext"]
        assert got_pod["automountServiceAccountToken"] is False
        assert stored["spec"]["podFailurePolicy"] == job["spec"]["podFailurePolicy"]
        assert stored["spec"]["backoffLimit"] == 0

        # Least privilege, as the API server's authorizer sees it.
        assert _can(plane, "list", "pods.metrics.k8s.io", "staging")
        assert _can(plane, "list", "pods.metrics.k8s.io", "databases")
        assert not _can(plane, "list", "pods.metrics.k8s.io", "default")
        assert not _can(plane, "get", "pods.metrics.k8s.io", "staging")
        assert not _can(plane, "delete", "pods", "staging")  # chaos is off
        assert not _can(plane, "list", "secrets", "soak")
    finally:
        _helm(plane, "uninstall", "rel", "-n", "soak")


def test_sharded_job_runs_one_pod_per_index(kube_cluster: ControlPlane) -> None:
    """The Indexed Job's pods carry their index, from which Kubernetes expands
    --shard $(JOB_COMPLETION_INDEX)/N (kwok completes the pods, so the Job completes)."""
    plane = kube_cluster
    proc = _helm(plane, "install", "shards", str(CHART), "-n", "soak-shards", "--create-namespace",
                 "-f", str(CHART / "ci" / "sharded-job-values.yaml"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    try:
        plane.kubectl("wait", "--for=condition=complete", "job/shards-soakmon-sharded",
                      "-n", "soak-shards", "--timeout=90s", timeout=120)  # fmt: skip
        pods = _get(plane, "pods", "-n", "soak-shards", "-l", "app.kubernetes.io/component=run")
        indexes = sorted(
            p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
            for p in pods["items"]
        )  # fmt: skip
        assert indexes[:4] == ["0", "1", "2", "3"]
        for pod in pods["items"]:
            args = pod["spec"]["containers"][0]["args"]
            assert args[args.index("--shard") + 1] == "$(JOB_COMPLETION_INDEX)/4"
            env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
            assert "JOB_COMPLETION_INDEX" in env
    finally:
        _helm(plane, "uninstall", "shards", "-n", "soak-shards")


def _failed_condition(plane: ControlPlane, ns: str, job: str) -> dict[str, Any] | None:
    conditions = _get(plane, "job", job, "-n", ns)["status"].get("conditions", [])
    return next((c for c in conditions if c["type"] == "Failed" and c["status"] == "True"), None)


def test_exit_codes_map_to_job_status(kube_cluster: ControlPlane) -> None:
    """kwok ends the run's container with the exit code `soakmon run` would have: 1 (a check
    failed) fails the Job at once despite backoffLimit 2; 3 (unreachable) is retried up to
    backoffLimit."""
    from tests.kube.conftest import wait_for

    plane = kube_cluster
    ns = "soak-exit"
    for release, code, backoff in (("checks", "1", "2"), ("unreach", "3", "1")):
        annotation = f"run.podAnnotations.kwok\\.soakmon\\.test/exit-code={code}"
        proc = _helm(plane, "install", release, str(CHART), "-n", ns, "--create-namespace",
                     "--set", "daemon.enabled=false", "--set", "job.enabled=true",
                     "--set", "run.target=http://api:8000", "--set", f"run.backoffLimit={backoff}",
                     "--set-string", annotation)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    try:
        failed = wait_for(
            "the checks Job to fail", lambda: _failed_condition(plane, ns, "checks-soakmon-run"), 60
        )
        assert failed["reason"] == "PodFailurePolicy"
        assert "exit code 1 matching FailJob" in failed["message"]
        failed = wait_for(
            "the unreachable Job", lambda: _failed_condition(plane, ns, "unreach-soakmon-run"), 90
        )
        assert failed["reason"] == "BackoffLimitExceeded"
        pods = _get(plane, "pods", "-n", ns, "-l", "app.kubernetes.io/instance=unreach")
        assert len(pods["items"]) == 2  # the first try and one retry
        pods = _get(plane, "pods", "-n", ns, "-l", "app.kubernetes.io/instance=checks")
        assert len(pods["items"]) == 1  # no retry after a failed check
    finally:
        _helm(plane, "uninstall", "checks", "-n", ns)
        _helm(plane, "uninstall", "unreach", "-n", ns)
