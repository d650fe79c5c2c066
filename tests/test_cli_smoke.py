from __future__ import annotations

import subprocess
import sys

import pytest

from monitor import __version__


@pytest.mark.parametrize("args", [["version"], ["--version"]])
def test_version_command_prints_the_package_version(args: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, "-c", "from monitor.cli.app import main; main()", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == __version__
