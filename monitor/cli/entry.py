"""The ``soakmon`` console script: Ctrl-C at any moment of a command says what it interrupted.

A command installs its own graceful Ctrl-C handling only once it runs (``soakmon load`` stops
after what is in flight and still prints its summary). Before that, while Python imports
soakmon, the arguments are checked, suites load, the target is reached or workers start, a
Ctrl-C used to end the process with a traceback or a bare exit status 130. Here every such
interruption prints one line naming what the command was doing (``soakmon: interrupted during
start-up while connecting to http://…``) and exits 130, as k6 and Locust do. Commands tell
what they are doing with :func:`doing`.

This module imports only the standard library, so it covers the import of everything else.
"""

from __future__ import annotations

import sys

_now = {"doing": "loading soakmon", "phase": "during start-up", "lost": ""}

LOST = "no summary or report was written"
"""What a Ctrl-C in the middle of a measurement costs (``doing(..., lost=LOST)``)."""


def doing(what: str, *, started: bool = False, lost: str = "") -> None:
    """Record what the command is doing now: ``what`` completes "interrupted while …";
    ``started``: the measurement itself runs (no longer start-up); ``lost``: what a Ctrl-C
    now loses, said after the line."""
    _now["doing"] = what
    _now["phase"] = "" if started else "during start-up"
    _now["lost"] = lost


def interrupted_message() -> str:
    """The line a Ctrl-C prints at this moment."""
    phase = f" {_now['phase']}" if _now["phase"] else ""
    tail = f": {_now['lost']}" if _now["lost"] else ""
    return f"soakmon: interrupted (Ctrl-C){phase} while {_now['doing']}{tail}"


def _from_interrupt(exc: BaseException) -> bool:
    """Typer turns a ``KeyboardInterrupt`` in a command into a silent exit 130; tell it from
    an exit a command chose."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, KeyboardInterrupt):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return False


def _say() -> None:
    try:
        sys.stderr.write(interrupted_message() + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr closed: the exit status still tells
        pass


def main() -> None:
    """Console-script entry point: :func:`monitor.cli.app.main` with Ctrl-C reported."""
    try:
        from monitor.cli.app import main as app_main

        app_main()
    except KeyboardInterrupt:
        _say()
        sys.exit(130)
    except SystemExit as exc:
        if exc.code == 130 and _from_interrupt(exc):
            _say()
        raise
