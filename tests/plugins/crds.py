"""The real CustomResourceDefinitions of the operators the chart and the chaos work talk to, as
fetched by ``scripts/fetch-crds.sh`` (``make crds``; ``make test`` runs it) into ``.tools/crds/``:

* prometheus-operator (``PROMETHEUS_OPERATOR``): one file per kind,
  ``monitoring.coreos.com_<plural>.yaml`` (ServiceMonitor, PrometheusRule, PodMonitor, ...);
* Chaos Mesh (``CHAOS_MESH``): ``crd.yaml``, every ``chaos-mesh.org`` kind in one file.

``install_crds`` applies them to the test control plane (server-side: Chaos Mesh's CRDs are
too large for kubectl's client-side last-applied annotation) and waits until they are served;
their OpenAPI schemas then validate every object the tests create, unlike stand-ins that accept
any spec.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.plugins.kube import REPO, ControlPlane

CRDS = REPO / ".tools" / "crds"
PROMETHEUS_OPERATOR = CRDS / "prometheus-operator"
CHAOS_MESH = CRDS / "chaos-mesh"


def prometheus_operator_crd(plural: str) -> Path:
    """The prometheus-operator CRD file of a kind, by plural (``servicemonitors``)."""
    return require(PROMETHEUS_OPERATOR / f"monitoring.coreos.com_{plural}.yaml")


def chaos_mesh_crds() -> Path:
    """Chaos Mesh's ``manifests/crd.yaml`` (all its kinds)."""
    return require(CHAOS_MESH / "crd.yaml")


def require(path: Path) -> Path:
    """The path, or a failure (CI) / skip (elsewhere) naming how to fetch it."""
    if not path.is_file():
        message = f"{path} is missing (make crds fetches it: scripts/fetch-crds.sh)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


def load_crds(*files: Path) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition in the files (libyaml's parser when there: Chaos Mesh's
    3 MB file takes ~9 s with the pure-Python one)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    crds = []
    for path in files:
        with path.open(encoding="utf-8") as fh:
            for doc in yaml.load_all(fh, Loader=loader):
                if doc and doc.get("kind") == "CustomResourceDefinition":
                    crds.append(doc)
    return crds


def install_crds(
    plane: ControlPlane,
    *files: Path,
    only: Collection[str] | None = None,
    timeout_s: int = 60,
) -> list[str]:
    """Apply the CRDs of the files (``only`` those named, e.g. ``{"podchaos.chaos-mesh.org"}``:
    each CRD costs the API server time) and wait until each is Established; returns the names
    installed (for ``remove_crds``)."""
    crds = load_crds(*files)
    if only is not None:
        unknown = set(only) - {c["metadata"]["name"] for c in crds}
        if unknown:
            raise ValueError(f"no CRD {sorted(unknown)} in {[str(f) for f in files]}")
        crds = [c for c in crds if c["metadata"]["name"] in only]
    names = [c["metadata"]["name"] for c in crds]
    document = json.dumps({"apiVersion": "v1", "kind": "List", "items": crds})
    plane.kubectl(
        "apply", "--server-side", "--force-conflicts", "-f", "-", stdin=document,
        timeout=timeout_s,
    )  # fmt: skip
    plane.kubectl(
        "wait", "--for=condition=Established", f"--timeout={timeout_s}s",
        *(f"crd/{n}" for n in names), timeout=timeout_s + 10,
    )  # fmt: skip
    return names


def remove_crds(plane: ControlPlane, names: list[str], timeout_s: int = 60) -> None:
    """Delete the CRDs (and so every object of their kinds) and wait until they are gone."""
    if names:
        plane.kubectl(
            "delete", "crd", *names, "--wait=true", "--ignore-not-found", timeout=timeout_s
        )
