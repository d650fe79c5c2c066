"""The Helm chart against the real control plane: install, roll out, upgrade, uninstall; the
chart's RBAC through the real authorizer; its Jobs through the real Job controller; ``helm
test`` against an installed release.

What is not real: pods never run (kwok reports them Running, and pods with restartPolicy Never
or OnFailure ending with the exit code of a ``kwok.soakmon.test/exit-code`` annotation: the
tests run the pod's command line on this host and hand its exit code to kwok), and no
prometheus-operator runs: its real CRDs (``make crds``) are installed, so the chart's ``auto``
detection sees them and its ServiceMonitor/PrometheusRule pass their schema validation
(tests/kube/test_operator_crds.py checks each against it, and a wrong field refused).
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.daemon.config.probes import ProbeConfig
from monitor.daemon.probing import build_probe
from monitor.observe.probes import ProbeError
from tests.deploy.chart import CHART, VALUES_FILES, helm, values_id
from tests.kube.conftest import wait_for
from tests.kube.metrics_standin import MetricsStandIn
from tests.plugins.crds import install_crds, prometheus_operator_crd, remove_crds
from tests.plugins.kube import EXIT_CODE_ANNOTATION, NODE_NAME, ControlPlane, free_port

RELEASE = "rel"
FULLNAME = f"{RELEASE}-soakmon"
INSTANCE = f"app.kubernetes.io/instance={RELEASE}"
#: Namespaces the ci values files point probes, chaos and Roles at (besides the release's own).
OTHER_NAMESPACES = ("staging", "staging-2", "databases")
#: Namespaced kinds a release may own, for "uninstall removes everything".
NAMESPACED_KINDS = (
    "deployments,statefulsets,replicasets,pods,jobs,cronjobs,services,configmaps,secrets,"
    "serviceaccounts,roles,rolebindings,networkpolicies,poddisruptionbudgets,"
    "persistentvolumeclaims,servicemonitors,prometheusrules"
)


@pytest.fixture(scope="module")
def plane(kube_cluster: ControlPlane) -> Iterator[ControlPlane]:
    """The control plane with what the ci values files expect to find in a cluster: their
    namespaces, and the real ServiceMonitor and PrometheusRule CRDs (they go away afterwards:
    other tests render the chart for a cluster without the operator)."""
    objects = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in OTHER_NAMESPACES
    ]
    kube_cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(objects))
    crds = [prometheus_operator_crd(p) for p in ("servicemonitors", "prometheusrules")]
    names = install_crds(kube_cluster, *crds)
    yield kube_cluster
    remove_crds(kube_cluster, names)


def run_helm(
    plane: ControlPlane, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(helm()), *args], capture_output=True, text=True, timeout=180, env=plane.env(),
        check=False,
    )  # fmt: skip
    if check and proc.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{proc.stderr}")
    return proc


def values_args(values: Path | None) -> list[str]:
    return [] if values is None else ["-f", str(values)]


def release_objects(plane: ControlPlane, namespace: str) -> list[str]:
    """Every object of the release left in the cluster, as kind/name (all namespaces)."""
    found = []
    for ns in (namespace, *OTHER_NAMESPACES):
        out = plane.kubectl("get", NAMESPACED_KINDS, "-n", ns, "-l", INSTANCE, "-o", "name")
        found += [f"{ns}:{line}" for line in out.stdout.split()]
    out = plane.kubectl("get", "clusterroles,clusterrolebindings", "-l", INSTANCE, "-o", "name")
    return found + out.stdout.split()


def assert_all_gone(plane: ControlPlane, namespace: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while left := release_objects(plane, namespace):
        if time.monotonic() > deadline:
            pytest.fail(f"left after helm uninstall: {left}")
        time.sleep(0.5)


def daemon_pods(plane: ControlPlane, namespace: str) -> list[dict[str, Any]]:
    out = plane.kubectl(
        "get", "pods", "-n", namespace, "-l", f"{INSTANCE},app.kubernetes.io/component=daemon",
        "-o", "json",
    )  # fmt: skip
    return [
        p
        for p in json.loads(out.stdout)["items"]
        if p["status"].get("phase") == "Running" and "deletionTimestamp" not in p["metadata"]
    ]


def prepare(plane: ControlPlane, namespace: str, values: Path | None) -> None:
    """What a user creates before installing with these values (Secrets, ConfigMaps, a PV)."""
    merged = yaml.safe_load(values.read_text()) if values else {}
    if merged.get("existingSecret"):
        plane.kubectl(
            "create", "secret", "generic", merged["existingSecret"], "-n", namespace,
            "--from-literal=token=t0ken",
        )  # fmt: skip
    for cm in merged.get("extraConfigMaps", []):
        plane.kubectl("create", "configmap", cm["name"], "-n", namespace)
    if merged.get("referenceTarget", {}).get("postgresql", {}).get("enabled"):
        # No provisioner here: a PersistentVolume for the PostgreSQL StatefulSet's claim.
        pv = {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"pv-{namespace}"},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteOnce"],
                "hostPath": {"path": f"/var/tmp/pv-{namespace}"},
                "persistentVolumeReclaimPolicy": "Delete",
            },
        }
        plane.kubectl("apply", "-f", "-", stdin=json.dumps(pv))


@pytest.mark.parametrize("values", VALUES_FILES, ids=values_id)
def test_install_roll_out_upgrade_uninstall(
    plane: ControlPlane, namespace: str, values: Path | None
) -> None:
    merged = yaml.safe_load(values.read_text()) if values else {}
    daemon = merged.get("daemon", {}).get("enabled", True)
    prepare(plane, namespace, values)
    run_helm(
        plane, "install", RELEASE, str(CHART), "-n", namespace, *values_args(values),
        "--wait", "--wait-for-jobs", "--timeout", "120s",
    )  # fmt: skip

    # Every object of the manifest was accepted and is there.
    manifest = run_helm(plane, "get", "manifest", RELEASE, "-n", namespace).stdout
    kinds = {d["kind"] for d in yaml.safe_load_all(manifest) if d}
    got = plane.kubectl("get", "-f", "-", "-o", "name", stdin=manifest).stdout.split()
    assert len(got) == len([d for d in yaml.safe_load_all(manifest) if d])

    if "Job" in kinds:
        jobs = json.loads(plane.kubectl("get", "jobs", "-n", namespace, "-o", "json").stdout)
        for job in jobs["items"]:
            assert job["status"].get("succeeded") == job["spec"].get("completions", 1), job
    if "CronJob" in kinds:
        # The CronJob's jobTemplate, run now: accepted, and it completes.
        plane.kubectl("create", "job", "now", f"--from=cronjob/{FULLNAME}-run", "-n", namespace)
        plane.kubectl(
            "wait", "--for=condition=Complete", "job/now", "-n", namespace, "--timeout=60s"
        )

    if daemon:
        [pod] = daemon_pods(plane, namespace)
        assert pod["spec"]["nodeName"] == NODE_NAME
        checksum = pod["metadata"]["annotations"]["checksum/config"]
        # A config change rolls the daemon (Recreate): a new pod with the new checksum.
        run_helm(
            plane, "upgrade", RELEASE, str(CHART), "-n", namespace, *values_args(values),
            "--set", "config.slo.p95_ms=321", "--wait", "--timeout", "120s",
        )  # fmt: skip
        [new] = wait_for(
            "the daemon pod replaced after the config change",
            lambda: [
                p
                for p in daemon_pods(plane, namespace)
                if p["metadata"]["name"] != pod["metadata"]["name"]
            ],
        )
        assert new["metadata"]["annotations"]["checksum/config"] != checksum
        config = plane.kubectl(
            "get", "configmap", FULLNAME, "-n", namespace, "-o", "jsonpath={.data.daemon\\.yaml}"
        ).stdout
        assert yaml.safe_load(config)["slo"]["p95_ms"] == 321

    run_helm(plane, "uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "60s")
    assert_all_gone(plane, namespace)
    plane.kubectl("delete", "pv", f"pv-{namespace}", "--ignore-not-found")


def test_a_broken_security_context_value_is_rejected_by_the_api_server(
    plane: ControlPlane, namespace: str
) -> None:
    """The chart's schema lets runAsUser through as an integer; the API server's validation,
    not helm, refuses -1, so the install fails naming the field."""
    proc = run_helm(
        plane, "install", RELEASE, str(CHART), "-n", namespace,
        "--set", "securityContext.runAsUser=-1", check=False,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "securityContext.runAsUser" in proc.stderr
    assert "must be between 0 and 2147483647" in proc.stderr
    # Nothing of the rejected Deployment is running.
    assert daemon_pods(plane, namespace) == []


def sa_token(plane: ControlPlane, namespace: str) -> str:
    out = plane.kubectl("create", "token", FULLNAME, "-n", namespace, "--duration=10m")
    return out.stdout.strip()


async def test_the_charts_service_account_may_do_what_soakmon_calls_and_nothing_more(
    plane: ControlPlane, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    # A workload to probe and to aim chaos at, in the namespace the ci values name.
    app = f"api-{namespace}"
    plane.kubectl("create", "deployment", app, "--image=api:1", "-n", "staging")
    wait_for(
        f"a Running pod of {app}",
        lambda: [
            p
            for p in json.loads(
                plane.kubectl(
                    "get", "pods", "-n", "staging", "-l", f"app={app}", "-o", "json"
                ).stdout
            )["items"]
            if p["status"].get("phase") == "Running"
        ],
    )
    try:
        # Chaos off, a kubernetes probe on staging (the kube-probe ci values).
        run_helm(
            plane, "install", RELEASE, str(CHART), "-n", namespace,
            "-f", str(CHART / "ci" / "kube-probe-values.yaml"),
        )  # fmt: skip
        token = sa_token(plane, namespace)
        kubeconfig = plane.kubeconfig_for(token, tmp_path / "sa.kubeconfig")
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        probe = build_probe(
            ProbeConfig(
                kind="kubernetes", name="api-pods", namespace="staging", selector=f"app={app}"
            )
        )
        # The probe's calls pass the authorizer; the metrics API is what is missing.
        with pytest.raises(ProbeError, match="metrics API not available"):
            await probe.read()
        standin = MetricsStandIn(plane, tmp_path)
        port = standin.start()
        try:
            standin.register(port)
            values = await probe.read()
            assert values["pods"] == 1
            assert values["memory_bytes"] == 100 * 1024 * 1024
        finally:
            standin.unregister()
            standin.stop()

        with plane.api_client(token) as api_client:
            core = client.CoreV1Api(api_client)
            [pod] = core.list_namespaced_pod("staging", label_selector=f"app={app}").items
            # Chaos disabled: deleting a pod is denied.
            with pytest.raises(ApiException) as denied:
                core.delete_namespaced_pod(pod.metadata.name, "staging")
            assert denied.value.status == 403
            # Outside every rule: Secrets, and namespaces without a probe.
            for call in (
                lambda: core.list_namespaced_secret("staging"),
                lambda: core.list_namespaced_pod("kube-system"),
                lambda: client.AppsV1Api(api_client).list_namespaced_deployment("staging"),
            ):
                with pytest.raises(ApiException) as denied:
                    call()
                assert denied.value.status == 403

        # Chaos on for staging (the chaos ci values): the chaos verbs now pass.
        run_helm(
            plane, "upgrade", RELEASE, str(CHART), "-n", namespace,
            "-f", str(CHART / "ci" / "chaos-values.yaml"),
        )  # fmt: skip
        with plane.api_client(token) as api_client:
            core = client.CoreV1Api(api_client)
            core.delete_namespaced_pod(pod.metadata.name, "staging")
            # ... and only there.
            with pytest.raises(ApiException) as denied:
                core.delete_collection_namespaced_pod("staging-2")
            assert denied.value.status == 403
        # The Deployment replaces the killed pod.
        wait_for(
            "a Running replacement of the killed pod",
            lambda: [
                p
                for p in json.loads(
                    plane.kubectl(
                        "get", "pods", "-n", "staging", "-l", f"app={app}", "-o", "json"
                    ).stdout
                )["items"]
                if p["status"].get("phase") == "Running"
                and p["metadata"]["name"] != pod.metadata.name
            ],
        )
    finally:
        run_helm(plane, "uninstall", RELEASE, "-n", namespace, check=False)
        plane.kubectl("delete", "deployment", app, "-n", "staging", check=False)


def job_outcome(plane: ControlPlane, namespace: str, name: str) -> tuple[str, str, int]:
    """(condition type, reason, pods that failed) once the Job is Complete or Failed."""

    def done() -> tuple[str, str, int] | None:
        job = json.loads(plane.kubectl("get", "job", name, "-n", namespace, "-o", "json").stdout)
        for cond in job["status"].get("conditions", []):
            if cond["type"] in ("Complete", "Failed") and cond["status"] == "True":
                return cond["type"], cond.get("reason", ""), job["status"].get("failed", 0)
        return None

    return wait_for(f"job {name} to finish", done, timeout_s=60)


#: What the chart's Job must do with each exit code of `soakmon run` (monitor.errors.ExitCode):
#: a finding (1) or a configuration error (2) fails the Job at once, however many retries are
#: allowed; an unreachable target (3) is retried until backoffLimit.
JOB_POLICY = {
    0: ("Complete", "CompletionsReached", 0),
    1: ("Failed", "PodFailurePolicy", 1),
    2: ("Failed", "PodFailurePolicy", 1),
    3: ("Failed", "BackoffLimitExceeded", 2),  # with backoffLimit 1: two pods
}
#: case -> (extra helm values, reference target faults or None for no target, exit code)
RUN_CASES = {
    "clean": ([], [], 0),
    "planted-bug": ([], ["lost-update"], 1),
    "bad-suite": (["--set", "run.suites={/etc/soakmon/suites/missing.yaml}"], [], 2),
    "unreachable": ([], None, 3),
}


def job_args(values: list[str]) -> list[str]:
    """The container args of the chart's one-shot Job for these values (`helm template`)."""
    proc = subprocess.run(
        [str(helm()), "template", RELEASE, str(CHART), "--show-only", "templates/job.yaml",
         *values],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    job = yaml.safe_load(proc.stdout)
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    args: list[str] = container["args"]
    return args


def run_locally(args: list[str], target: str, workdir: Path) -> int:
    """Run the Job's command line here: the image's entrypoint is `soakmon`."""
    args = [a.replace("/var/lib/soakmon", str(workdir)) for a in args]
    args[args.index("--target") + 1] = target
    if "--pushgateway" in args:  # nothing listens there: the push fails, the exit code stays
        args[args.index("--pushgateway") + 1] = f"http://127.0.0.1:{free_port()}"
    soakmon = Path(sys.executable).with_name("soakmon")
    proc = subprocess.run(
        [str(soakmon), *args], capture_output=True, text=True, timeout=300, check=False
    )
    print(proc.stdout[-2000:], proc.stderr[-2000:])
    return proc.returncode


@contextlib.contextmanager
def reference_target(faults: list[str], workdir: Path) -> Iterator[str]:
    soakmon = Path(sys.executable).with_name("soakmon")
    cmd = [
        str(soakmon),
        "target",
        "serve",
        "--port",
        "0",
        "--db",
        f"sqlite:///{workdir / 'ref.db'}",
    ]
    for fault in faults:
        cmd += ["--fault", fault]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert server.stdout is not None
        url = None
        while url is None:
            line = server.stdout.readline()
            if not line:
                pytest.fail(f"reference target exited ({server.wait()})")
            found = re.search(r"listening on (http://\S+)", line)
            url = found.group(1) if found else None
        yield url
    finally:
        server.terminate()
        server.wait(20)


@pytest.mark.parametrize("case", list(RUN_CASES))
def test_the_jobs_exit_codes_meet_its_failure_policy(
    plane: ControlPlane, namespace: str, case: str, tmp_path: Path
) -> None:
    """The Job's command line, run here against the reference target, exits with the code the
    Job's podFailurePolicy expects for that outcome; a Job pod ending with that code makes the
    real Job controller complete, fail at once, or retry as the policy says."""
    extra, faults, expected_code = RUN_CASES[case]
    values = [
        "-f", str(CHART / "ci" / "job-pushgateway-values.yaml"),
        "--set", "run.scenarios={points/concurrent-points-deduction}",
        *extra,
    ]  # fmt: skip
    args = job_args(values)
    if faults is None:
        code = run_locally(args, f"http://127.0.0.1:{free_port()}", tmp_path)
    else:
        with reference_target(faults, tmp_path) as url:
            code = run_locally(args, url, tmp_path)
    assert code == expected_code

    exit_key = EXIT_CODE_ANNOTATION.replace(".", "\\.")
    run_helm(
        plane, "install", RELEASE, str(CHART), "-n", namespace, *values,
        "--set", "run.backoffLimit=1",
        "--set-string", f"run.podAnnotations.{exit_key}={code}",
    )  # fmt: skip
    assert job_outcome(plane, namespace, f"{FULLNAME}-run") == JOB_POLICY[code]


# -- helm test ---------------------------------------------------------------------------------


def hook_test_pod(plane: ControlPlane, namespace: str) -> dict[str, Any]:
    """The release's `helm test` pod, as installed (`helm get hooks`)."""
    hooks = run_helm(plane, "get", "hooks", RELEASE, "-n", namespace).stdout
    [pod] = [
        d for d in yaml.safe_load_all(hooks)
        if d and d["kind"] == "Pod" and d["metadata"]["annotations"].get("helm.sh/hook") == "test"
    ]  # fmt: skip
    return pod


def serving_container(plane: ControlPlane, namespace: str, url: str) -> dict[str, Any] | None:
    """What a pod in the cluster would reach at ``url``: the container behind the Service's
    port, through the EndpointSlice the real controller keeps (None: nothing answers there)."""
    found = re.fullmatch(r"http://([a-z0-9-]+):(\d+)", url)
    assert found, f"the test pod's target {url} is not http://SERVICE:PORT"
    name, port = found.group(1), int(found.group(2))
    proc = plane.kubectl("get", "service", name, "-n", namespace, "-o", "json", check=False)
    if proc.returncode != 0:
        return None
    ports = [p for p in json.loads(proc.stdout)["spec"]["ports"] if p["port"] == port]
    if not ports:
        return None
    target_port = ports[0].get("targetPort", port)
    slices = plane.kubectl(
        "get", "endpointslices", "-n", namespace, "-l", f"kubernetes.io/service-name={name}",
        "-o", "json",
    )  # fmt: skip
    for es in json.loads(slices.stdout)["items"]:
        for endpoint in es.get("endpoints") or []:
            ref = endpoint.get("targetRef") or {}
            if not endpoint["conditions"].get("ready") or ref.get("kind") != "Pod":
                continue
            pod = json.loads(
                plane.kubectl("get", "pod", ref["name"], "-n", namespace, "-o", "json").stdout
            )
            for container in pod["spec"]["containers"]:
                for cport in container.get("ports", []):
                    if target_port in (cport.get("name"), cport["containerPort"]):
                        return dict(container)
    return None


def faults_of(container: dict[str, Any]) -> list[str]:
    """The reference target's ``--fault`` arguments (the container must be one)."""
    args: list[str] = container["args"]
    assert args[:2] == ["target", "serve"], f"the test pod reaches {args[:2]}, not the target"
    return [args[i + 1] for i, a in enumerate(args) if a == "--fault"]


#: case -> (extra helm values, what to break after install, exit code of the smoke run)
HELM_TEST_CASES = {
    "clean": ([], None, 0),
    "planted-bug": (["--set", "referenceTarget.faults={lost-update}"], None, 1),
    "service-gone": ([], f"service/{FULLNAME}-reference", 3),
}


@pytest.mark.parametrize("case", list(HELM_TEST_CASES))
def test_helm_test_passes_only_when_the_smoke_run_would(
    plane: ControlPlane, namespace: str, case: str, tmp_path: Path
) -> None:
    """`helm test` against an installed release. The test pod cannot run here, so its command
    line runs on this host against what the pod would reach (its target URL resolved through
    the cluster's Service and EndpointSlice to the serving container, started here with the
    same faults); kwok then ends the pod with that exit code, and `helm test` must pass exactly
    when the smoke run passed."""
    extra, remove, expected_code = HELM_TEST_CASES[case]
    values = [
        "--set", "referenceTarget.enabled=true",
        "--set", "tests.scenarios={points/concurrent-points-deduction}",
        *extra,
    ]  # fmt: skip
    run_helm(
        plane, "install", RELEASE, str(CHART), "-n", namespace, *values,
        "--wait", "--timeout", "120s",
    )  # fmt: skip
    if remove:
        plane.kubectl("delete", remove, "-n", namespace)

    [container] = hook_test_pod(plane, namespace)["spec"]["containers"]
    args = container["args"]
    target = args[args.index("--target") + 1]
    if remove is None:  # the EndpointSlice controller may be a moment behind `--wait`
        serving = wait_for(
            f"a ready endpoint behind {target}",
            lambda: serving_container(plane, namespace, target),
            timeout_s=10,
        )
    else:
        serving = serving_container(plane, namespace, target)
    if serving is None:
        code = run_locally(args, f"http://127.0.0.1:{free_port()}", tmp_path)
    else:
        with reference_target(faults_of(serving), tmp_path) as url:
            code = run_locally(args, url, tmp_path)
    assert code == expected_code

    exit_key = EXIT_CODE_ANNOTATION.replace(".", "\\.")
    run_helm(
        plane, "upgrade", RELEASE, str(CHART), "-n", namespace, "--reuse-values",
        "--set-string", f"tests.podAnnotations.{exit_key}={code}",
    )  # fmt: skip
    proc = run_helm(plane, "test", RELEASE, "-n", namespace, "--timeout", "60s", check=False)
    test_pod = plane.kubectl(
        "get", "pod", f"{FULLNAME}-test", "-n", namespace, "-o", "jsonpath={.status.phase}",
        check=False,
    )  # fmt: skip
    if code == 0:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert re.search(rf"TEST SUITE:\s+{FULLNAME}-test\b", proc.stdout), proc.stdout
        assert re.search(r"Phase:\s+Succeeded", proc.stdout), proc.stdout
        assert test_pod.returncode != 0, "hook-succeeded deletes the passed test pod"
    else:
        assert proc.returncode != 0, proc.stdout
        assert f"pod {FULLNAME}-test failed" in proc.stderr
        assert test_pod.stdout == "Failed", "a failed test pod stays for its logs"
    run_helm(plane, "uninstall", RELEASE, "-n", namespace, "--wait", "--timeout", "60s")
