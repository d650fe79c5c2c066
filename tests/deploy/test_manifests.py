"""deploy/kubernetes (kustomize base + overlays) is the chart's rendering, kept up to date, and
every object in it is valid Kubernetes; with kustomize built into .tools/bin, every overlay
builds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.deploy.chart import HELM, KUBE_VERSION, ROOT, helm

MANIFESTS = ROOT / "deploy" / "kubernetes"
KUSTOMIZE = ROOT / ".tools" / "bin" / "kustomize"
OVERLAYS = sorted(p.parent for p in MANIFESTS.glob("overlays/*/kustomization.yaml"))


def test_manifests_are_the_charts_rendering() -> None:
    helm()
    proc = subprocess.run(
        [sys.executable, str(MANIFESTS / "generate.py"), "--check", "--helm", str(HELM)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def test_every_manifest_is_valid_kubernetes() -> None:
    count = 0
    for path in sorted(MANIFESTS.rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        obj = yaml.safe_load(path.read_text())
        assert obj["metadata"]["namespace"] == "soakmon"
        assert "helm.sh/chart" not in obj["metadata"].get("labels", {})
        if obj["kind"] not in {"ServiceMonitor", "PrometheusRule"}:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
        count += 1
    assert count >= 8


@pytest.mark.parametrize("overlay", [MANIFESTS / "base", *OVERLAYS], ids=lambda p: p.name)
def test_overlay_builds(overlay: Path) -> None:
    if not KUSTOMIZE.exists():
        pytest.skip("kustomize is not built (make .tools/bin/kustomize)")
    proc = subprocess.run(
        [str(KUSTOMIZE), "build", str(overlay)], capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    kinds = [d["kind"] for d in yaml.safe_load_all(proc.stdout) if d]
    assert "Deployment" in kinds
    for obj in yaml.safe_load_all(proc.stdout):
        if obj and obj["kind"] not in {"ServiceMonitor", "PrometheusRule"}:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
