"""The daemon's journal of active faults in the chart: a writable dir under the read-only root
filesystem (the work emptyDir by default), or a PersistentVolumeClaim that keeps it across a
deleted pod. Real `helm template` and kubernetes-validate."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from tests.deploy.chart import CHART, KUBE_VERSION, find, render, run_helm

ON = ("--set", "chaos.journal.persistence.enabled=true")


def _daemon(objects: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    [deployment] = find(objects, "Deployment", "rel-soakmon")
    pod = deployment["spec"]["template"]["spec"]
    [container] = [c for c in pod["containers"] if c["name"] == "soakmon"]
    return pod, container


def _journal_mount(objects: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """The journal dir and the volume mounted deepest over it."""
    pod, container = _daemon(objects)
    state_dir = {e["name"]: e for e in container["env"]}["SOAKMON_STATE_DIR"]["value"]
    mounts = [
        m
        for m in container["volumeMounts"]
        if state_dir == m["mountPath"] or state_dir.startswith(m["mountPath"] + "/")
    ]
    deepest = max(mounts, key=lambda m: len(m["mountPath"]))  # fmt: skip
    assert not deepest.get("readOnly"), deepest
    [volume] = [v for v in pod["volumes"] if v["name"] == deepest["name"]]
    return state_dir, volume


def test_by_default_the_journal_is_in_the_writable_work_emptydir() -> None:
    objects = render(None)
    state_dir, volume = _journal_mount(objects)
    assert state_dir == "/var/lib/soakmon/chaos"  # image: /var/lib/soakmon is writable
    assert "emptyDir" in volume
    assert find(objects, "PersistentVolumeClaim") == []
    _, container = _daemon(objects)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_persistence_puts_the_journal_on_a_claim_of_its_own() -> None:
    objects = render(None, *ON, "--set", "chaos.journal.persistence.storageClass=fast",
                     "--set", "chaos.journal.persistence.size=1Gi")  # fmt: skip
    state_dir, volume = _journal_mount(objects)
    assert state_dir == "/var/lib/soakmon/chaos"
    assert volume["persistentVolumeClaim"] == {"claimName": "rel-soakmon-chaos-journal"}
    [claim] = find(objects, "PersistentVolumeClaim", "rel-soakmon-chaos-journal")
    assert claim["spec"] == {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast",
                             "resources": {"requests": {"storage": "1Gi"}}}  # fmt: skip
    [deployment] = find(objects, "Deployment", "rel-soakmon")
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}  # RWO: old pod lets go first
    pod, _ = _daemon(objects)
    assert pod["securityContext"]["fsGroup"] == 10001  # the claim is writable by uid 10001
    for obj in (claim, deployment):
        kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
    # "-" asks for no StorageClass at all (a pre-bound volume); "" the cluster's default
    [none] = find(render(None, *ON, "--set", "chaos.journal.persistence.storageClass=-"),
                  "PersistentVolumeClaim")  # fmt: skip
    assert none["spec"]["storageClassName"] == ""
    [default] = find(render(None, *ON), "PersistentVolumeClaim")
    assert "storageClassName" not in default["spec"]


def test_an_existing_claim_is_mounted_and_none_is_created() -> None:
    objects = render(None, *ON, "--set", "chaos.journal.persistence.existingClaim=kept")
    _, volume = _journal_mount(objects)
    assert volume["persistentVolumeClaim"] == {"claimName": "kept"}
    assert find(objects, "PersistentVolumeClaim") == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--set", "chaos.journal.persistence.size=lots"], "size"),
        (["--set", "chaos.journal.persistence.nope=1"], "nope"),
        (["--set-json", 'chaos.journal.persistence.accessModes=["ReadOnlyMany"]'], "accessModes"),
        (
            ["--set", "config.chaos.state_dir=/data/journal"],
            'config.chaos.state_dir "/data/journal" is not where chaos.journal.persistence mounts',
        ),
    ],
)
def test_bad_journal_values_fail_the_render_naming_the_field(
    extra: list[str], message: str
) -> None:
    proc = run_helm("template", "rel", str(CHART), *ON, *extra)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr
