"""What every mode of ``soakmon load`` shares: a graceful stop on Ctrl-C/SIGTERM and the
"target unreachable" exit."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator

import typer
from rich.console import Console

from monitor.engine import ConcurrentResult
from monitor.errors import ExitCode


@contextlib.contextmanager
def graceful_stop(stop: Callable[[], None]) -> Iterator[None]:
    """Inside, the first SIGINT or SIGTERM calls ``stop`` (the run ends after what is in
    flight); a second one interrupts at once."""
    loop = asyncio.get_running_loop()
    stop_signals = [signal.SIGINT, signal.SIGTERM]

    def graceful(sig: signal.Signals) -> None:
        stop()
        loop.remove_signal_handler(sig)  # a second Ctrl-C interrupts at once

    for sig in stop_signals:
        loop.add_signal_handler(sig, graceful, sig)
    try:
        yield
    finally:
        for sig in stop_signals:
            loop.remove_signal_handler(sig)


def exit_if_unreachable(result: ConcurrentResult) -> None:
    """Exit 3 naming the first error when every request failed to connect."""
    if result.total and result.connect_failures == result.total:
        reason = result.errors[0] if result.errors else "no connection"
        Console(stderr=True).print(
            f"[red]target unreachable:[/red] every request failed to connect ({reason})",
            highlight=False,
        )
        raise typer.Exit(ExitCode.UNREACHABLE)
