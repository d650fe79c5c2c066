"""The container image, built for real from the project's Dockerfile with buildah
(``scripts/build-image.sh``, as ``make image`` does: cached by content, so a warm run builds
nothing) and run the way the chart runs it, with ``buildah run --isolation chroot``:

* as UID/GID 10001 (the chart's ``runAsUser``/``runAsGroup``);
* on a read-only view of the image (the chart's ``readOnlyRootFilesystem``): its ``/usr``,
  ``/etc``, ``/opt`` and ``/var`` are bind-mounted read-only over themselves; only
  ``/var/lib/soakmon`` and ``/tmp`` are writable, host directories standing in for the chart's
  two ``emptyDir`` volumes, and the chart's config goes read-only to ``/etc/soakmon``;
* through the image's own exec-form ENTRYPOINT (read from the image, not assumed), like
  ``docker run IMAGE ARGS``;
* in the host's network namespace (chroot isolation has none of its own): a port the
  daemon listens on inside is reached on 127.0.0.1 from the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.chart import ROOT

BUILD_SCRIPT = ROOT / "scripts" / "build-image.sh"
UID = 10001
#: The image's top-level directories that the tests mount read-only over themselves.
READ_ONLY = ("/usr", "/etc", "/opt", "/var")
#: Writable in the chart's pod (emptyDir volumes), so here too.
WRITABLE = ("/var/lib/soakmon", "/tmp")


def uv() -> str:
    """uv from PATH, else the Makefile's copy in .tools/bin."""
    found = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    if not Path(found).exists():
        _unavailable("uv is missing (make bootstraps it into .tools/)")
    return found


def _unavailable(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def buildah(*args: str, timeout: float = 120) -> str:
    proc = subprocess.run(
        ["buildah", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(f"buildah {' '.join(args)} failed:\n{proc.stderr}")
    return proc.stdout


def build_image() -> str:
    """Build (or find, by content hash) the image; its reference."""
    if shutil.which("buildah") is None:
        _unavailable("buildah is missing (make test installs it: scripts/system-deps.sh)")
    if os.geteuid() != 0:
        _unavailable("building and running the image with buildah's chroot isolation needs root")
    proc = subprocess.run(
        [str(BUILD_SCRIPT)], cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(f"{BUILD_SCRIPT.name} failed:\n{proc.stderr[-6000:]}")
    return proc.stdout.strip().splitlines()[-1]


@dataclass
class Container:
    """A working container of the image, mounted so that it can be run read-only."""

    name: str
    rootfs: Path
    config: dict[str, Any]
    volumes: Path

    @property
    def entrypoint(self) -> list[str]:
        return list(self.config["config"]["Entrypoint"])

    def command(self, *args: str, config_dir: Path | None = None) -> list[str]:
        """The ``buildah run`` command line that runs the entrypoint with ``args``."""
        cmd = ["buildah", "run", "--isolation", "chroot", "--user", f"{UID}:{UID}"]
        for top in READ_ONLY:
            cmd += ["--mount", f"type=bind,src={self.rootfs}{top},dst={top},ro=true"]
        for path in WRITABLE:
            cmd += ["--volume", f"{self.volumes / path.strip('/').replace('/', '-')}:{path}"]
        if config_dir is not None:
            cmd += ["--volume", f"{config_dir}:/etc/soakmon:ro"]
        return [*cmd, self.name, "--", *self.entrypoint, *args]

    def run(
        self, *args: str, config_dir: Path | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args, config_dir=config_dir),
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    def writable(self, path: str) -> Path:
        """The host directory behind one of the WRITABLE paths."""
        return self.volumes / path.strip("/").replace("/", "-")


@contextmanager
def container(ref: str, volumes: Path) -> Iterator[Container]:
    """A working container of ``ref`` with fresh writable volumes owned by UID 10001."""
    for path in WRITABLE:
        host = volumes / path.strip("/").replace("/", "-")
        host.mkdir(parents=True)
        os.chown(host, UID, UID)
        host.chmod(0o1777 if path == "/tmp" else 0o755)
    name = buildah("from", "--pull-never", "--quiet", ref).strip()
    try:
        rootfs = Path(buildah("mount", name).strip())
        config = json.loads(buildah("inspect", "--type", "image", ref))["OCIv1"]
        yield Container(name=name, rootfs=rootfs, config=config, volumes=volumes)
    finally:
        buildah("rm", name)


_UNITS = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}


def image_size(ref: str) -> float:
    """The image's size in bytes (its layers, uncompressed), as ``buildah images`` shows it
    (``594 MB``: decimal units, 3 significant digits)."""
    shown = buildah("images", "--format", "{{.Size}}", ref).split("\n")[0].strip()
    number, unit = shown.split()
    return float(number) * _UNITS[unit]


def image_config(ref: str) -> dict[str, Any]:
    """The image's Docker-format config (user, entrypoint, healthcheck, ...)."""
    return dict(json.loads(buildah("inspect", "--type", "image", ref))["Docker"]["config"])
