"""Plain manifests (kustomize base + overlays) rendered from the Helm chart, for users without
Helm. Regenerate after a chart change; `make lint` fails while they are out of date.

    python deploy/kubernetes/generate.py [--check] [--helm PATH]

base/                      the daemon: ConfigMap, Deployment, Service, ServiceAccount, dashboards
overlays/one-shot-job/     base + a one-shot Job running `soakmon run` (set its --target)
overlays/sharded-job/      base + an Indexed Job of 4 shards pushing to a Pushgateway
overlays/prometheus-operator/  base + ServiceMonitor and PrometheusRule
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHART = ROOT / "helm" / "soakmon"
NAMESPACE = "soakmon"
HEADER = "# Generated from helm/soakmon by deploy/kubernetes/generate.py — do not edit.\n"
HELM_ONLY_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by")
TARGET = "http://my-service.staging.svc:8000"

#: overlay -> (chart values, kinds taken from its rendering)
OVERLAYS: dict[str, tuple[list[str], set[str]]] = {
    "one-shot-job": (["job.enabled=true", f"run.target={TARGET}"], {"Job"}),
    "sharded-job": (
        [
            "shardedJob.enabled=true",
            "shardedJob.shards=4",
            f"run.target={TARGET}",
            "run.pushgateway.url=http://prometheus-pushgateway.monitoring:9091",
        ],
        {"Job"},
    ),
    "prometheus-operator": (
        ["serviceMonitor.enabled=true", "prometheusRule.enabled=true"],
        {"ServiceMonitor", "PrometheusRule"},
    ),
}


def _render(helm: str, sets: list[str]) -> list[dict[str, Any]]:
    args = [helm, "template", "soakmon", str(CHART), "--namespace", NAMESPACE, "--skip-tests"]
    for s in sets:
        args += ["--set", s]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [_plain(d) for d in yaml.safe_load_all(out) if d]


def _plain(obj: dict[str, Any]) -> dict[str, Any]:
    """Drop the labels only Helm sets (they would lie outside a Helm release)."""

    def strip(meta: dict[str, Any]) -> None:
        labels = meta.get("labels") or {}
        for key in HELM_ONLY_LABELS:
            labels.pop(key, None)

    strip(obj["metadata"])
    spec = obj.get("spec", {})
    for holder in (spec.get("template"), spec.get("jobTemplate")):
        if isinstance(holder, dict) and "metadata" in holder:
            strip(holder["metadata"])
    return obj


def _file_name(obj: dict[str, Any]) -> str:
    name = obj["metadata"]["name"].removeprefix("soakmon-").removeprefix("soakmon")
    kind = obj["kind"].lower()
    return f"{kind}{'-' + name if name else ''}.yaml"


def _dump(obj: Any) -> str:
    return HEADER + yaml.safe_dump(obj, sort_keys=False, width=100)


def files(helm: str) -> dict[Path, str]:
    out: dict[Path, str] = {}
    base = _render(helm, [])
    names = []
    for obj in base:
        name = _file_name(obj)
        names.append(name)
        out[HERE / "base" / name] = _dump(obj)
    out[HERE / "base" / "kustomization.yaml"] = _dump(
        {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
         "namespace": NAMESPACE, "resources": names}
    )  # fmt: skip
    for overlay, (sets, kinds) in OVERLAYS.items():
        extra = [o for o in _render(helm, sets) if o["kind"] in kinds]
        resources = ["../../base"]
        for obj in extra:
            name = _file_name(obj)
            resources.append(name)
            out[HERE / "overlays" / overlay / name] = _dump(obj)
        out[HERE / "overlays" / overlay / "kustomization.yaml"] = _dump(
            {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
             "namespace": NAMESPACE, "resources": resources}
        )  # fmt: skip
    return out


def main(argv: list[str]) -> int:
    helm = argv[argv.index("--helm") + 1] if "--helm" in argv else str(ROOT / ".tools/bin/helm")
    wanted = files(helm)
    existing = set(HERE.rglob("*.yaml"))
    if "--check" in argv:
        stale = sorted(
            str(p.relative_to(ROOT)) for p, text in wanted.items()
            if not p.exists() or p.read_text() != text
        )  # fmt: skip
        stale += sorted(str(p.relative_to(ROOT)) for p in existing - set(wanted))
        if stale:
            print(f"out of date: {', '.join(stale)} (run: make manifests)", file=sys.stderr)
            return 1
        return 0
    for path in existing - set(wanted):
        path.unlink()
    for path, text in wanted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
