"""Fixtures for the tests against the real control plane (tests/plugins/kube.py)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.plugins.kube import ControlPlane

T = TypeVar("T")


def wait_for(what: str, check: Callable[[], T | None], timeout_s: float = 30) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` and the last value."""
    deadline = time.monotonic() + timeout_s
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what} (last: {last!r})")


@pytest.fixture
def namespace(kube_cluster: ControlPlane) -> Iterator[str]:
    """A fresh namespace with its ``default`` ServiceAccount, deleted after the test."""
    from kubernetes import client

    name = f"t-{secrets.token_hex(4)}"
    with kube_cluster.api_client() as api_client:
        core = client.CoreV1Api(api_client)
        core.create_namespace({"metadata": {"name": name}})

        def default_sa() -> Any:
            items = core.list_namespaced_service_account(name).items
            return any(sa.metadata.name == "default" for sa in items)

        wait_for(f"the default ServiceAccount of {name}", default_sa)
        yield name
        core.delete_namespace(name)


def chaos_mesh_crd_subset(directory: Path) -> Path:
    """The CRDs of the Chaos Mesh kinds soakmon creates (monitor/chaos/access.py), taken from
    Chaos Mesh's real ``manifests/crd.yaml``: installing those five instead of all 23 keeps the
    tests that need them fast."""
    import yaml

    from monitor.chaos.access import CHAOS_MESH_KINDS
    from tests.plugins.crds import chaos_mesh_crds

    wanted = {f"{plural}.chaos-mesh.org" for plural in CHAOS_MESH_KINDS.values()}
    with chaos_mesh_crds().open(encoding="utf-8") as fh:
        docs = [d for d in yaml.safe_load_all(fh) if d and d["metadata"]["name"] in wanted]
    assert len(docs) == len(wanted), sorted(d["metadata"]["name"] for d in docs)
    path = directory / "chaos-mesh-kinds.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    return path


@pytest.fixture(scope="session")
def chaos_mesh_crds(kube_cluster: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Chaos Mesh's real CRDs of the five kinds, installed once for the session (installing them
    takes the API server tens of seconds on a busy machine); returns the file."""
    from tests.plugins.crds import install_crds

    crds = chaos_mesh_crd_subset(tmp_path_factory.mktemp("crds"))
    install_crds(kube_cluster, crds)
    return crds
