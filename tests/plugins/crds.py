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

import os
from pathlib import Path

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


def crd_names(*files: Path) -> list[str]:
    """The ``metadata.name`` of every CustomResourceDefinition in the files."""
    names = []
    for path in files:
        with path.open(encoding="utf-8") as fh:
            for doc in yaml.safe_load_all(fh):
                if doc and doc.get("kind") == "CustomResourceDefinition":
                    names.append(doc["metadata"]["name"])
    return names


def install_crds(plane: ControlPlane, *files: Path, timeout_s: int = 60) -> list[str]:
    """Apply the CRD files to the control plane and wait until each is Established; returns
    the names installed (for ``remove_crds``)."""
    args = [arg for path in files for arg in ("-f", str(path))]
    plane.kubectl("apply", "--server-side", "--force-conflicts", *args, timeout=timeout_s)
    names = crd_names(*files)
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
