"""The Helm chart, rendered by the real helm and checked against the real Kubernetes schemas and
against the code it deploys: ports, probe paths, mount paths, config keys, RBAC rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from monitor.chaos.access import ACCESS as CHAOS_ACCESS
from monitor.chaos.access import DEFAULT_ACTIONS, rules_for
from monitor.chaos.experiment.load import load_experiment
from monitor.daemon.config import DaemonConfig, load_config
from monitor.errors import ExitCode
from monitor.observe.probes.kube import API_ACCESS as PROBE_ACCESS
from monitor.suites.loading.loader import validate_file
from tests.deploy.chart import (
    CHART,
    KUBE_VERSION,
    ROOT,
    VALUES_FILES,
    find,
    render,
    run_helm,
    values_id,
)

OPERATOR_KINDS = {"ServiceMonitor", "PrometheusRule"}
params = pytest.mark.parametrize("values", VALUES_FILES, ids=values_id)


def _container(pod_spec: dict[str, Any]) -> dict[str, Any]:
    (container,) = [c for c in pod_spec["containers"] if c["name"] == "soakmon"]
    return container


def _pod_specs(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for o in objects:
        spec = o.get("spec", {})
        if o["kind"] == "Pod":
            out.append((o["metadata"]["name"], spec))
        elif o["kind"] == "CronJob":
            out.append((o["metadata"]["name"], spec["jobTemplate"]["spec"]["template"]["spec"]))
        elif "template" in spec:
            out.append((o["metadata"]["name"], spec["template"]["spec"]))
    return out


@params
def test_helm_lint_strict(values: Path | None) -> None:
    args = ["lint", "--strict", str(CHART), "--kube-version", KUBE_VERSION]
    proc = run_helm(*args, *(["-f", str(values)] if values else []))
    assert proc.returncode == 0, proc.stdout + proc.stderr


@params
def test_every_object_is_valid_kubernetes(values: Path | None) -> None:
    objects = render(values)
    assert objects
    for obj in objects:
        # Operator kinds have no schema in kubernetes-validate: their real CRDs check them in
        # the API server (tests/kube/test_operator_crds.py).
        if obj["kind"] in OPERATOR_KINDS:
            assert obj["apiVersion"] == "monitoring.coreos.com/v1"
            continue
        kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
    print(f"{values_id(values)}: {len(objects)} objects")


def test_schema_rejects_unknown_keys() -> None:
    for bad in (
        "nope=1",
        "daemon.nope=1",
        "run.pushgateway.nope=1",
        "config.nope=1",
    ):
        proc = run_helm("template", "rel", str(CHART), "--kube-version", KUBE_VERSION, "--set", bad)
        assert proc.returncode != 0, bad
        assert "additional properties" in proc.stderr.lower() or "not allowed" in proc.stderr


@pytest.mark.parametrize("bad", ["run.attempts=0", "run.maxSpreadUs=0", "run.attemptsAll=maybe"])
def test_schema_rejects_attempts_that_make_no_sense(bad: str) -> None:
    proc = run_helm("template", "rel", str(CHART), "--kube-version", KUBE_VERSION, "--set", bad)
    assert proc.returncode != 0, bad
    assert bad.split("=", maxsplit=1)[0].split(".")[1] in proc.stderr, proc.stderr


def test_schema_config_keys_are_the_daemons() -> None:
    """values.config is the daemon config minus `server`, which the chart owns."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    chart_keys = set(schema["properties"]["config"]["properties"])
    assert chart_keys == set(DaemonConfig.model_fields) - {"server"}


def test_termination_grace_must_exceed_daemon_grace() -> None:
    proc = run_helm(
        "template", "rel", str(CHART), "--kube-version", KUBE_VERSION,
        "--set", "config.grace_period=1m", "--set", "daemon.terminationGracePeriodSeconds=30",
    )  # fmt: skip
    assert proc.returncode != 0
    assert "must exceed config.grace_period (60" in proc.stderr


def _mounted_files(pod: dict[str, Any], objects: list[dict[str, Any]], root: Path) -> None:
    """Write the ConfigMap items where the pod mounts them, under ``root``."""
    container = _container(pod)
    volumes = {v["name"]: v for v in pod["volumes"]}
    for mount in container["volumeMounts"]:
        volume = volumes[mount["name"]]
        if "configMap" not in volume or volume["configMap"]["name"].startswith("team"):
            continue
        found = find(objects, "ConfigMap", volume["configMap"]["name"])
        if not found:
            continue
        data = found[0]["data"]
        for item in volume["configMap"].get("items", [{"key": k, "path": k} for k in data]):
            path = root / mount["mountPath"].lstrip("/") / item["path"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(data[item["key"]])


@params
def test_daemon_deployment_matches_the_daemon(values: Path | None, tmp_path: Path) -> None:
    """The config the pod mounts loads with the daemon's own loader; the container port, the
    Service and the probes point at the daemon's server port and real endpoints."""
    objects = render(values)
    deployments = find(objects, "Deployment", "rel-soakmon")
    if not deployments:
        pytest.skip("daemon disabled in these values")
    pod = deployments[0]["spec"]["template"]["spec"]
    container = _container(pod)
    _mounted_files(pod, objects, tmp_path)
    args = container["args"]
    assert args[:2] == ["daemon", "--config"]
    config_path = tmp_path / args[2].lstrip("/")
    cfg = load_config(config_path)  # the daemon's loader: raises naming file, line, field

    (port,) = container["ports"]
    assert port["containerPort"] == cfg.server.port
    assert cfg.server.host == "0.0.0.0"
    routes = _routes()
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz" in routes
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz" in routes
    assert container["livenessProbe"]["httpGet"]["port"] == port["name"]
    assert pod["terminationGracePeriodSeconds"] > cfg.grace_period
    (service,) = find(objects, "Service", "rel-soakmon")
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    # Every file the config names under the chart's mounts is really mounted there.
    for target in cfg.targets.values():
        creds = target.credentials
        if creds and creds.token_file:
            mounts = [m["mountPath"] for m in container["volumeMounts"]]
            assert str(creds.token_file.parent) in mounts
    for job in cfg.suites:
        if job.suite.startswith("/"):
            assert (tmp_path / job.suite.lstrip("/")).is_file(), job.suite


def _routes() -> set[str]:
    import asyncio

    from prometheus_client import CollectorRegistry

    from monitor.daemon.http import build_app
    from monitor.daemon.state import DaemonState

    app = build_app(DaemonState(), CollectorRegistry(), asyncio.Event())
    return {r.resource.canonical for r in app.router.routes() if r.resource is not None}


@params
def test_user_suites_and_profiles_validate(values: Path | None, tmp_path: Path) -> None:
    objects = render(values)
    (cm,) = find(objects, "ConfigMap", "rel-soakmon")
    for key, body in cm["data"].items():
        if key.startswith(("suite.", "profile.")):
            path = tmp_path / key.split(".", 1)[1]
            path.write_text(body)
            kind, problems = validate_file(path)
            assert kind == key.split(".")[0]
            assert not problems, problems


def _expected_rules(cfg: dict[str, Any], chaos: dict[str, Any], release_ns: str) -> dict[str, set]:
    """What each namespace needs: the code's API tables for the features that are on, as
    (group, resource, verb) permissions."""
    need: dict[str, set[tuple[str, str, str]]] = {}
    for probe in cfg.get("probes", []):
        if probe["kind"] == "kubernetes":
            for a in PROBE_ACCESS:
                need.setdefault(probe["namespace"], set()).update(
                    (a.api_group, a.resource, v) for v in a.verbs
                )
    if chaos.get("enabled"):
        for ns in chaos.get("namespaces") or [release_ns]:
            for a in rules_for(chaos.get("actions") or list(DEFAULT_ACTIONS)):
                need.setdefault(ns, set()).update((a.api_group, a.resource, v) for v in a.verbs)
    return need


def _rules(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    out = set()
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                out.update((group, resource, verb) for verb in rule["verbs"])
    return out


def test_chart_knows_every_chaos_kind_that_calls_the_api() -> None:
    """values.schema.json's chaos.actions enum is the kinds of monitor/chaos/access.py, and the
    chart grants each kind exactly its table (all kinds at once, and each one alone)."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    enum = schema["properties"]["chaos"]["properties"]["actions"]["items"]["enum"]
    assert set(enum) == set(CHAOS_ACCESS)
    for kinds in [[k] for k in CHAOS_ACCESS] + [list(CHAOS_ACCESS)]:
        chaos = {"enabled": True, "namespaces": ["staging"], "actions": kinds}
        objects = render(None, "--set-json", f"chaos={json.dumps(chaos)}")
        [role] = find(objects, "Role")
        assert _rules(role) == _expected_rules({}, chaos, "soak")["staging"], kinds
    bad = run_helm(
        "template", "rel", str(CHART), "--set-json", 'chaos={"enabled":true,"actions":["nuke"]}'
    )
    assert bad.returncode != 0
    assert "/chaos/actions/0': value must be one of 'pod-kill'" in bad.stderr


@params
def test_rbac_is_exactly_what_enabled_features_call(values: Path | None) -> None:
    merged = yaml.safe_load((CHART / "values.yaml").read_text())
    if values is not None:
        override = yaml.safe_load(values.read_text())
        for key, value in override.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
    objects = render(values)
    need = _expected_rules(merged["config"], merged["chaos"], "soak")
    if merged["rbac"].get("clusterWide"):
        assert not find(objects, "Role")
        roles = find(objects, "ClusterRole")
        assert len(roles) == (1 if need else 0)
        got = _rules(roles[0]) if roles else set()
        assert got == set().union(*need.values()) if need else not got
    else:
        assert not find(objects, "ClusterRole")
        roles = {r["metadata"]["namespace"]: _rules(r) for r in find(objects, "Role")}
        assert roles == need
        for binding in find(objects, "RoleBinding"):
            (subject,) = binding["subjects"]
            assert subject == {"kind": "ServiceAccount", "name": "rel-soakmon", "namespace": "soak"}
    # The API token is mounted only into the daemon, and only when a feature calls the API.
    for name, pod in _pod_specs(objects):
        wants = bool(need) and name in ("rel-soakmon", "rel-soakmon-chaos")
        assert pod.get("automountServiceAccountToken") is wants, name


@params
def test_pods_are_locked_down(values: Path | None) -> None:
    for name, pod in _pod_specs(render(values)):
        sec = pod["securityContext"]
        assert sec["runAsNonRoot"] is True, name
        assert sec["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for c in pod["containers"]:
            csc = c["securityContext"]
            assert csc["readOnlyRootFilesystem"] is True, name
            assert csc["allowPrivilegeEscalation"] is False, name
            assert csc["capabilities"]["drop"] == ["ALL"], name
            assert c["resources"]["limits"]["memory"], name


def test_config_change_rolls_the_daemon() -> None:
    def checksum(*extra: str) -> str:
        (dep,) = find(render(None, *extra), "Deployment")
        return str(dep["spec"]["template"]["metadata"]["annotations"]["checksum/config"])

    assert checksum() == checksum()
    assert checksum() != checksum("--set", "config.slo.p95_ms=400")


def test_one_shot_job_maps_exit_codes() -> None:
    values = CHART / "ci" / "job-pushgateway-values.yaml"
    (job,) = find(render(values), "Job")
    spec = job["spec"]
    assert spec["backoffLimit"] == 0
    assert spec["ttlSecondsAfterFinished"] > 0
    rules = spec["podFailurePolicy"]["rules"]
    assert rules[0]["action"] == "FailJob"
    assert rules[0]["onExitCodes"]["values"] == [ExitCode.FAILED, ExitCode.USAGE]
    assert rules[1]["action"] == "Count"
    assert set(rules[1]["onExitCodes"]["values"]) == set(ExitCode) - {
        ExitCode.OK,
        ExitCode.FAILED,
        ExitCode.USAGE,
    }
    args = _container(spec["template"]["spec"])["args"]
    assert args[0] == "run"
    assert args[args.index("--pushgateway") + 1] == "http://prometheus-pushgateway.monitoring:9091"
    assert args[args.index("--push-job") + 1] == "soakmon-ci"
    assert args[args.index("--attempts") + 1] == "5"
    assert args[args.index("--max-spread-us") + 1] == "500"
    assert "--attempts-all" not in args


def test_sharded_job_is_indexed() -> None:
    values = CHART / "ci" / "sharded-job-values.yaml"
    (job,) = find(render(values), "Job")
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == 4
    assert spec["parallelism"] == 2
    args = _container(spec["template"]["spec"])["args"]
    assert args[args.index("--shard") + 1] == "$(JOB_COMPLETION_INDEX)/4"
    assert "--attempts-all" in args
    assert "--attempts" not in args  # soakmon's default unless the values say
    assert args[args.index("--target") + 1] == "http://rel-soakmon-reference:8000"


def test_operator_objects_follow_the_cluster_capabilities() -> None:
    assert not find(render(None), "ServiceMonitor")
    objects = render(None, "--api-versions", "monitoring.coreos.com/v1")
    (sm,) = find(objects, "ServiceMonitor")
    assert sm["spec"]["endpoints"][0]["port"] == "http"
    assert not find(render(None, "--api-versions", "monitoring.coreos.com/v1",
                           "--set", "serviceMonitor.enabled=false"), "ServiceMonitor")  # fmt: skip


def _notes(tmp_path: Path, values: Path | None) -> str:
    """NOTES.txt as `helm install` prints it (rendered through a copy of the chart)."""
    import shutil

    chart = tmp_path / "soakmon"
    shutil.copytree(CHART, chart)
    (chart / "templates" / "zz-notes.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\n"
        'data: {notes: {{ include "soakmon/templates/NOTES.txt" . | quote }}}\n'
    )
    args = ["template", "rel", str(chart), "--namespace", "soak", "--show-only",
            "templates/zz-notes.yaml", *(["-f", str(values)] if values else [])]  # fmt: skip
    proc = run_helm(*args)
    assert proc.returncode == 0, proc.stderr
    return str(yaml.safe_load(proc.stdout)["data"]["notes"])


def test_notes_tell_where_the_status_page_and_alerts_are(tmp_path: Path) -> None:
    notes = _notes(tmp_path, CHART / "ci" / "monitoring-values.yaml")
    assert "port-forward svc/rel-soakmon 9109" in notes
    assert "alertmanager: http://alertmanager-operated.monitoring:9093" in notes
    assert "the PrometheusRule rel-soakmon" in notes
    job_notes = _notes(tmp_path / "job", CHART / "ci" / "job-pushgateway-values.yaml")
    assert "logs -f job/rel-soakmon-run" in job_notes
    assert "pushed to http://prometheus-pushgateway.monitoring:9091" in job_notes


def test_prometheus_rule_is_the_rule_files(tmp_path: Path) -> None:
    """The chart's PrometheusRule carries deploy/prometheus/*.yml unchanged, and parses."""
    import shutil
    import subprocess

    sources = sorted((ROOT / "deploy" / "prometheus").glob("*.yml"))
    copies = sorted((CHART / "files" / "rules").glob("*.y*ml"))
    assert sources, "no rule files in deploy/prometheus"
    assert [p.name for p in copies] == [p.name for p in sources]
    for source, copy in zip(sources, copies, strict=True):
        assert copy.read_text() == source.read_text(), (
            f"{copy} is stale: cp deploy/prometheus/*.yml helm/soakmon/files/rules/"
        )
    (rule,) = find(render(CHART / "ci" / "monitoring-values.yaml"), "PrometheusRule")
    expected = [g for p in sources for g in yaml.safe_load(p.read_text())["groups"]]
    assert rule["spec"]["groups"] == expected
    promtool = shutil.which("promtool")
    if promtool is not None:
        path = tmp_path / "rules.yml"
        path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
        proc = subprocess.run([promtool, "check", "rules", str(path)],
                              capture_output=True, text=True, check=False)  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_runbook_base_flows_into_the_rules_and_the_daemons_alerts(tmp_path: Path) -> None:
    """`runbookBaseUrl` rebases every runbook_url of the PrometheusRule exactly as the rules
    generator's flag does, and reaches the daemon's config (an explicit config value wins)."""
    from monitor.alerts.rules import build_rules
    from monitor.daemon.config import load_config

    base = "https://wiki.example/ops/soakmon-runbooks"
    values = CHART / "ci" / "monitoring-values.yaml"
    objects = render(values, "--set", f"runbookBaseUrl={base}")
    (rule,) = find(objects, "PrometheusRule")
    assert rule["spec"]["groups"] == build_rules(runbook_base=base)["groups"]
    links = [r["annotations"]["runbook_url"] for g in rule["spec"]["groups"]
             for r in g["rules"] if "alert" in r]  # fmt: skip
    assert links
    assert all(link.startswith(base + "#") for link in links)
    (config_map,) = find(objects, "ConfigMap", "rel-soakmon")
    (tmp_path / "daemon.yaml").write_text(config_map["data"]["daemon.yaml"])
    assert load_config(tmp_path / "daemon.yaml").alerting.runbook_base_url == base

    own = "https://elsewhere.example/rb"
    objects = render(values, "--set", f"runbookBaseUrl={base}",
                     "--set", f"config.alerting.runbook_base_url={own}")  # fmt: skip
    (config_map,) = find(objects, "ConfigMap", "rel-soakmon")
    (tmp_path / "daemon.yaml").write_text(config_map["data"]["daemon.yaml"])
    assert load_config(tmp_path / "daemon.yaml").alerting.runbook_base_url == own

    proc = run_helm("template", "rel", str(CHART), "--set", "runbookBaseUrl=https://x/rb#top")
    assert proc.returncode != 0
    assert "runbookBaseUrl" in proc.stderr


def test_reference_target_container_starts(tmp_path: Path) -> None:
    """The bundled reference target's rendered command really serves (its emptyDir mounted
    under a temp dir, its port swapped for a free one)."""
    import subprocess
    import sys
    import time
    import urllib.request

    from tests.plugins.prometheus import free_port

    objects = render(None, "--set", "referenceTarget.enabled=true")
    (dep,) = find(objects, "Deployment", "rel-soakmon-reference")
    container = dep["spec"]["template"]["spec"]["containers"][0]
    work = next(m["mountPath"] for m in container["volumeMounts"] if m["name"] == "work")
    port = free_port()
    args = [
        a.replace(work, str(tmp_path)) if a.startswith("sqlite:") else a
        for a in container["args"]
    ]  # fmt: skip
    args[args.index("--port") + 1] = str(port)
    cli = [sys.executable, "-c", "from monitor.cli.app import main; main()"]
    proc = subprocess.Popen([*cli, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, "reference target did not answer /healthz"
                time.sleep(0.3)
        assert (tmp_path / "reference.db").exists()
    finally:
        proc.terminate()
        proc.wait(20)


@pytest.mark.parametrize("values", ["job-pushgateway-values.yaml", "sharded-job-values.yaml"])
def test_rendered_run_arguments_parse(values: str, tmp_path: Path) -> None:
    """The Job's `soakmon run` arguments are ones the real CLI accepts: against a closed port it
    exits 3 (unreachable), not 2 (usage), and still tries its push."""
    import subprocess
    import sys

    from tests.plugins.prometheus import free_port

    (job,) = find(render(CHART / "ci" / values), "Job")
    container = _container(job["spec"]["template"]["spec"])
    work = next(m["mountPath"] for m in container["volumeMounts"] if m["name"] == "work")
    args = [a.replace(work, str(tmp_path)).replace("$(JOB_COMPLETION_INDEX)", "1")
            for a in container["args"]]  # fmt: skip
    args[args.index("--target") + 1] = f"http://127.0.0.1:{free_port()}"
    args[args.index("--pushgateway") + 1] = f"http://127.0.0.1:{free_port()}"
    cli = [sys.executable, "-c", "from monitor.cli.app import main; main()"]
    proc = subprocess.run([*cli, *args], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 3, proc.stderr
    assert "metrics not pushed" in proc.stderr


def test_chaos_job_runs_the_mounted_experiment(tmp_path: Path) -> None:
    """The chaos Job runs `soakmon chaos run` on the experiment it mounts (which loads with
    soakmon's own loader), with the API token, its journal in the writable work dir and the
    downward API's identity; it is never retried."""
    values = CHART / "ci" / "chaos-job-values.yaml"
    objects = render(values)
    [job] = find(objects, "Job", "rel-soakmon-chaos")
    assert job["spec"]["backoffLimit"] == 0
    pod = job["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is True
    assert job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == "chaos"
    container = _container(pod)
    args = container["args"]
    assert args[:3] == ["chaos", "run", "/etc/soakmon/experiments/kill-api.yaml"]
    _mounted_files(pod, objects, tmp_path)
    loaded = load_experiment(tmp_path / args[2].lstrip("/"))
    assert [a.kind for a in loaded.actions] == ["pod-kill"]
    env = {e["name"]: e for e in container["env"]}
    state_dir = env["SOAKMON_STATE_DIR"]["value"]
    assert any(state_dir.startswith(m["mountPath"]) for m in container["volumeMounts"]
               if m["name"] == "work")  # fmt: skip
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    [role] = find(objects, "Role")
    assert role["metadata"]["namespace"] == "staging"

    dry = render(values, "--set", "chaos.job.dryRun=true")
    assert "--dry-run" in _container(find(dry, "Job", "rel-soakmon-chaos")[0]["spec"][
        "template"]["spec"])["args"]  # fmt: skip
    for extra, message in (
        (["--set", "chaos.job.experiment=nope.yaml"],
         'chaos.job.experiment "nope.yaml" is not a key of chaos.experimentFiles (kill-api.yaml)'),
        (["--set", "chaos.enabled=false"], "chaos.job.enabled needs chaos.enabled"),
    ):  # fmt: skip
        proc = run_helm("template", "rel", str(CHART), "-f", str(values), *extra)
        assert proc.returncode != 0
        assert message in proc.stderr


def test_the_daemon_gets_the_kill_switch_token_and_a_journal_dir() -> None:
    objects = render(None, "--set", "chaos.enabled=true", "--set", "chaos.tokenSecret=chaos-token")
    [deployment] = find(objects, "Deployment", "rel-soakmon")
    env = {e["name"]: e for e in _container(deployment["spec"]["template"]["spec"])["env"]}
    assert env["SOAKMON_CHAOS_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "chaos-token", "key": "token"
    }  # fmt: skip
    assert env["SOAKMON_STATE_DIR"]["value"] == "/var/lib/soakmon/chaos"
    assert "SOAKMON_CHAOS_TOKEN" not in {
        e["name"]
        for e in _container(find(render(None), "Deployment", "rel-soakmon")[0]["spec"]["template"][
            "spec"])["env"]
    }  # fmt: skip


def test_the_daemon_schedules_a_mounted_experiment(tmp_path: Path) -> None:
    """config.chaos.experiments names a file of chaos.experimentFiles by its mount path; the
    daemon's loader (which loads each experiment) accepts what the pod mounts."""
    experiment = (CHART / "ci" / "chaos-job-values.yaml").read_text()
    files = yaml.safe_load(experiment)["chaos"]["experimentFiles"]
    chaos = {"enabled": True, "namespaces": ["staging"], "experimentFiles": files}
    config = {
        "targets": {"api": {"url": "http://api.staging.svc:8000"}},
        "chaos": {"experiments": [{"experiment": "/etc/soakmon/experiments/kill-api.yaml",
                                   "target": "api", "schedule": {"every": "6h"}}]},
    }  # fmt: skip
    objects = render(None, "--set-json", f"chaos={json.dumps(chaos)}",
                     "--set-json", f"config={json.dumps(config)}")  # fmt: skip
    [deployment] = find(objects, "Deployment", "rel-soakmon")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is True
    _mounted_files(pod, objects, tmp_path)
    mounted = tmp_path / "etc/soakmon/experiments/kill-api.yaml"
    assert mounted.is_file()
    daemon_yaml = tmp_path / "etc/soakmon/daemon.yaml"
    text = daemon_yaml.read_text().replace("/etc/soakmon/", f"{tmp_path}/etc/soakmon/")
    daemon_yaml.write_text(text)
    cfg = load_config(daemon_yaml)
    [job] = cfg.chaos.experiments
    assert job.experiment == str(mounted)
