"""The container image's install step, reproduced without a Docker engine: the Dockerfile's
COPY and `uv sync` lines run into a fresh directory, then the installed `soakmon` must work on
its own (help, validating the chart's default config, a short run against the reference target).
This proves the runtime dependency set (`--no-dev`) is complete."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.deploy.chart import ROOT, find, render

DOCKERFILE = ROOT / "Dockerfile"


def build_steps() -> tuple[list[list[str]], list[list[str]]]:
    """The build stage's COPY sources and `uv sync` commands, in order."""
    text = DOCKERFILE.read_text().split("\nFROM ", 2)[1]  # the first (build) stage
    copies = [line.split()[1:-1] for line in text.splitlines() if line.startswith("COPY ")]
    syncs = [shlex.split(m) for m in re.findall(r"^RUN (uv sync [^\n]+)$", text, re.M)]
    return copies, syncs


def uv() -> str:
    found = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    if not Path(found).exists():
        pytest.skip("uv is missing (make bootstraps it into .tools/)")
    return found


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh install made the way the Dockerfile makes it; returns its bin/ directory."""
    base = tmp_path_factory.mktemp("image")
    src, env_dir = base / "src", base / "opt" / "soakmon"
    src.mkdir()
    copies, syncs = build_steps()
    assert [s[:2] for s in syncs] == [["uv", "sync"], ["uv", "sync"]]
    assert all("--frozen" in s and "--no-dev" in s for s in syncs)
    for sources in copies:
        for name in sources:
            source = ROOT / name.rstrip("/")
            if source.is_dir():
                shutil.copytree(
                    source, src / source.name, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                shutil.copy2(source, src / source.name)
    # The image's ENV, less the two settings that only make it faster to start (bytecode
    # compiled at build time, files copied instead of hard-linked from the cache).
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_PROJECT_ENVIRONMENT": str(env_dir)}
    env.pop("VIRTUAL_ENV", None)
    for cmd in syncs:
        proc = subprocess.run(
            [uv(), *cmd[1:]], cwd=src, env=env, capture_output=True, text=True, timeout=600,
            check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    shutil.rmtree(src)  # like the runtime stage: only the environment is kept
    return env_dir / "bin"


def test_no_dev_tools_in_the_image(installed: Path) -> None:
    assert (installed / "soakmon").exists()
    for dev_tool in ("pytest", "mypy", "ruff", "hadolint"):
        assert not (installed / dev_tool).exists(), dev_tool


def test_help(installed: Path) -> None:
    proc = subprocess.run(
        [installed / "soakmon", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    for command in ("run", "daemon", "validate", "target"):
        assert command in proc.stdout


def test_validates_the_charts_default_config(installed: Path, tmp_path: Path) -> None:
    (cm,) = find(render(None), "ConfigMap", "rel-soakmon")
    config = tmp_path / "daemon.yaml"
    config.write_text(cm["data"]["daemon.yaml"])
    proc = subprocess.run(
        [installed / "soakmon", "validate", str(config)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_short_run_against_the_reference_target(installed: Path, tmp_path: Path) -> None:
    server = subprocess.Popen(
        [installed / "soakmon", "target", "serve", "--port", "0",
         "--db", f"sqlite:///{tmp_path / 'ref.db'}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        deadline = time.monotonic() + 60
        url = None
        while url is None and time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line and server.poll() is not None:
                pytest.fail("reference target exited")
            found = re.search(r"listening on (http://\S+)", line)
            url = found.group(1) if found else None
        assert url, "reference target did not start"
        proc = subprocess.run(
            [installed / "soakmon", "run", "points", "--target", url, "--quiet",
             "--scenario", "concurrent-points-deduction", "--json", str(tmp_path / "r.json")],
            capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert (tmp_path / "r.json").exists()
    finally:
        server.terminate()
        server.wait(20)
