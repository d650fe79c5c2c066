"""Running soakmon as a user does, in a fresh parent that reports its child's peak RSS."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

SOAKMON = (sys.executable, "-c", "from monitor.cli.app import main; main()")
"""``soakmon`` as a command line."""

_MEASURE = (
    "import resource, subprocess, sys; "
    "code = subprocess.run(sys.argv[1:]).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
    "sys.exit(code)"
)


async def run_measured(command: Sequence[str], seconds: float) -> tuple[int, bytes, bytes, int]:
    """Run ``command`` within ``seconds``: its exit code, stdout, stderr (its last
    line the peak RSS) and peak RSS in bytes."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _MEASURE, *command,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), seconds)
    assert proc.returncode is not None
    rss = int(err.decode().strip().splitlines()[-1]) * 1024
    return proc.returncode, out, err, rss
