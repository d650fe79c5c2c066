"""Rendering the Helm chart with the real helm binary (built into .tools/bin by the Makefile)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "soakmon"
HELM = ROOT / ".tools" / "bin" / "helm"
KUBE_VERSION = "1.34.0"
#: The default values plus every ci/*-values.yaml (None: the defaults alone).
VALUES_FILES: list[Path | None] = [None, *sorted((CHART / "ci").glob("*-values.yaml"))]


def values_id(path: Path | None) -> str:
    return "default" if path is None else path.name.removesuffix("-values.yaml")


def helm() -> Path:
    if not HELM.exists():
        message = f"{HELM} is missing: `make .tools/bin/helm` builds it (needs Go)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return HELM


def run_helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(helm()), *args], capture_output=True, text=True, timeout=120, check=False
    )


def render(values: Path | None = None, *extra: str, release: str = "rel") -> list[dict[str, Any]]:
    """Every object `helm template` renders (hooks included), as dicts."""
    args = ["template", release, str(CHART), "--namespace", "soak", "--kube-version", KUBE_VERSION]
    if values is not None:
        args += ["-f", str(values)]
    proc = run_helm(*args, *extra)
    if proc.returncode != 0:
        raise AssertionError(f"helm template failed:\n{proc.stderr}")
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [
        o for o in objects
        if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]  # fmt: skip
