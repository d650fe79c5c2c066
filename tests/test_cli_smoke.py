from __future__ import annotations

import subprocess
import sys

from monitor import __version__


def test_version_command_prints_the_package_version() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "from monitor.cli.app import main; main()", "version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == __version__
