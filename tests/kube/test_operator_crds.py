"""The chart's prometheus-operator objects against the real CRDs (prometheus-operator v0.85.0,
``make crds``): every ServiceMonitor and PrometheusRule the chart renders, with every ci values
file, passes the API server's schema validation with strict field validation (an unknown or
misspelt field is refused, not silently pruned), and a deliberately wrong field is refused
naming it. Chaos Mesh's CRDs (``make crds`` as well) install and validate too, for the chaos
work.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.chart import VALUES_FILES, find, render, values_id
from tests.plugins.crds import (
    chaos_mesh_crds,
    install_crds,
    load_crds,
    prometheus_operator_crd,
    remove_crds,
)
from tests.plugins.kube import ControlPlane

OPERATOR_KINDS = ("ServiceMonitor", "PrometheusRule")
#: What `helm install` would see in a cluster running the operator (the chart's "auto").
WITH_OPERATOR = ("--api-versions", "monitoring.coreos.com/v1")


@pytest.fixture(scope="module")
def operator_plane(kube_cluster: ControlPlane) -> Iterator[ControlPlane]:
    """The control plane with the real ServiceMonitor and PrometheusRule CRDs (removed after:
    other tests see a cluster without the operator)."""
    files = [prometheus_operator_crd(p) for p in ("servicemonitors", "prometheusrules")]
    names = install_crds(kube_cluster, *files)
    yield kube_cluster
    remove_crds(kube_cluster, names)


def operator_objects(values: Path | None, *extra: str) -> list[dict[str, Any]]:
    objects = render(values, *WITH_OPERATOR, *extra)
    return [o for kind in OPERATOR_KINDS for o in find(objects, kind)]


def server_dry_run(plane: ControlPlane, obj: dict[str, Any], namespace: str = "soak") -> str:
    """Create ``obj`` with a server-side dry run and strict field validation; stderr ('' when
    accepted)."""
    proc = plane.kubectl(
        "create", "--dry-run=server", "--validate=strict", "-n", namespace, "-f", "-",
        stdin=json.dumps(obj), check=False,
    )  # fmt: skip
    return "" if proc.returncode == 0 else proc.stderr


@pytest.mark.parametrize("values", VALUES_FILES, ids=values_id)
def test_every_operator_object_the_chart_renders_is_accepted(
    operator_plane: ControlPlane, values: Path | None
) -> None:
    objects = operator_objects(values)
    # Where the operator is, the chart renders its rules, and a ServiceMonitor for the daemon.
    merged = yaml.safe_load(values.read_text()) if values else {}
    daemon = merged.get("daemon", {}).get("enabled", True)
    want = set(OPERATOR_KINDS) if daemon else {"PrometheusRule"}
    assert {o["kind"] for o in objects} == want, values_id(values)
    operator_plane.kubectl("create", "namespace", "soak", check=False)
    for obj in objects:
        assert server_dry_run(operator_plane, obj) == "", (obj["kind"], values_id(values))


def test_the_chart_settings_of_the_operator_objects_are_accepted(
    operator_plane: ControlPlane,
) -> None:
    """Every ServiceMonitor/PrometheusRule value the chart exposes, set away from its default."""
    objects = operator_objects(
        None,
        "--set", "serviceMonitor.interval=1m", "--set", "serviceMonitor.scrapeTimeout=45s",
        "--set", "serviceMonitor.labels.release=kube-prometheus-stack",
        "--set", "prometheusRule.labels.release=kube-prometheus-stack",
        "--set", "runbookBaseUrl=https://runbooks.example.org/soakmon.md",
    )  # fmt: skip
    operator_plane.kubectl("create", "namespace", "soak", check=False)
    for obj in objects:
        assert server_dry_run(operator_plane, obj) == "", obj["kind"]


def test_a_wrong_field_is_refused_by_the_real_schema(operator_plane: ControlPlane) -> None:
    """The stand-in CRDs accepted anything; the real ones refuse what the operator would not
    understand, naming the field."""
    operator_plane.kubectl("create", "namespace", "soak", check=False)
    sm, rule = (find(operator_objects(None), kind)[0] for kind in OPERATOR_KINDS)

    misspelt = copy.deepcopy(sm)  # `intervall`: unknown to the schema
    misspelt["spec"]["endpoints"][0]["intervall"] = misspelt["spec"]["endpoints"][0].pop("interval")
    err = server_dry_run(operator_plane, misspelt)
    assert 'unknown field "spec.endpoints[0].intervall"' in err, err

    bad_interval = copy.deepcopy(sm)  # not a Prometheus duration
    bad_interval["spec"]["endpoints"][0]["interval"] = "30 seconds"
    err = server_dry_run(operator_plane, bad_interval)
    assert re.search(r"spec\.endpoints\[0\]\.interval: Invalid value: .*should match", err), err

    bad_for = copy.deepcopy(rule)  # an alert's `for` that Prometheus could not parse
    alert = next(r for g in bad_for["spec"]["groups"] for r in g["rules"] if "for" in r)
    alert["for"] = "5 minutes"
    err = server_dry_run(operator_plane, bad_for)
    field = r"spec\.groups\[\d+\]\.rules\[\d+\]\.for"
    assert re.search(rf"{field}: Invalid value: .*should match", err), err


def test_chaos_mesh_crds_install_and_serve_their_kinds(kube_cluster: ControlPlane) -> None:
    every = {c["metadata"]["name"] for c in load_crds(chaos_mesh_crds())}
    assert {
        "podchaos.chaos-mesh.org",
        "networkchaos.chaos-mesh.org",
        "schedules.chaos-mesh.org",
    } <= every
    names = install_crds(kube_cluster, chaos_mesh_crds(), only={"podchaos.chaos-mesh.org"})
    try:
        kinds = kube_cluster.kubectl("api-resources", "--api-group=chaos-mesh.org", "-o", "name")
        assert "podchaos.chaos-mesh.org" in kinds.stdout.split()
        pod_chaos = {
            "apiVersion": "chaos-mesh.org/v1alpha1",
            "kind": "PodChaos",
            "metadata": {"name": "kill-one"},
            "spec": {"action": "pod-kill", "mode": "one",
                     "selector": {"labelSelectors": {"app": "api"}}},
        }  # fmt: skip
        kube_cluster.kubectl("create", "namespace", "soak", check=False)
        assert server_dry_run(kube_cluster, pod_chaos) == ""
        pod_chaos["spec"]["action"] = "pod-explode"
        err = server_dry_run(kube_cluster, pod_chaos)
        assert re.search(r'spec\.action: Unsupported value: "pod-explode"', err), err
    finally:
        remove_crds(kube_cluster, names)
