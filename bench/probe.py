"""What the installed ``soakmon load`` offers (its ``--help``), asked once per benchmark run."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

from bench.procs import child_env

SOAKMON = Path(sys.executable).parent / "soakmon"


@functools.cache
def load_help() -> str | None:
    """The text of ``soakmon load --help``, or None when the command does not exist (yet)."""
    if not SOAKMON.exists():
        return None
    env = {**child_env(), "COLUMNS": "200", "TERM": "dumb"}
    try:
        done = subprocess.run(
            [str(SOAKMON), "load", "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def has_option(flag: str) -> bool:
    """True when ``soakmon load`` accepts ``flag``."""
    text = load_help()
    return text is not None and flag in text
