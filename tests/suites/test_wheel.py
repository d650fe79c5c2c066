"""Built-in suites are found from an installed wheel (``monitor/_scenarios``), not only from a
development checkout."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

PROBE = """
import json
from monitor.suites.loading import paths
from monitor.suites.loading.loader import load_profile, load_suite
suites = {n: load_suite(p).suite.name for n, p in paths.builtin_suites().items()}
profiles = sorted(paths.builtin_profiles())
load_profile(paths.builtin_profiles()["reference"])
print(json.dumps({"dir": str(paths.scenarios_dir()), "suites": suites, "profiles": profiles}))
"""


@pytest.mark.slow
def test_the_wheel_carries_and_finds_the_built_in_suites(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    root = Path(__file__).resolve().parents[2]
    subprocess.run(
        [uv, "build", "--wheel", "--out-dir", str(tmp_path / "dist"), str(root)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("soakmon-*.whl")
    unpacked = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(unpacked)
    out = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(unpacked)!r})\n{PROBE}"],
        check=True, capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    found = json.loads(out.stdout)
    assert found["dir"] == str(unpacked / "monitor" / "_scenarios")
    # the wheel carries every suite and profile of the checkout (each suite named for its file)
    source = root / "scenarios"
    assert found["suites"] == {p.stem: p.stem for p in source.glob("*.yaml")}
    assert found["profiles"] == sorted(p.stem for p in (source / "profiles").glob("*.yaml"))
    assert {"points", "oversubscription"} <= set(found["suites"])
    assert {"reference", "shop-example"} <= set(found["profiles"])
