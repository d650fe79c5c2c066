"""What every mode of ``soakmon load`` shares: a graceful stop on Ctrl-C/SIGTERM (and saying
so), and the "target unreachable" exit."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import typer
from rich.console import Console

from monitor.cli.entry import LOST, doing
from monitor.engine import ConcurrentResult
from monitor.errors import ExitCode


@dataclass(slots=True)
class Stopped:
    """Which signal ended the run before its duration (``None``: it ran its course)."""

    by: str | None = None


@contextlib.contextmanager
def graceful_stop(stop: Callable[[], None]) -> Iterator[Stopped]:
    """Inside, the first SIGINT or SIGTERM calls ``stop`` (the run ends after what is in
    flight) and is recorded in the ``Stopped`` yielded; a second one interrupts at once."""
    loop = asyncio.get_running_loop()
    stop_signals = [signal.SIGINT, signal.SIGTERM]
    stopped = Stopped()

    def graceful(sig: signal.Signals) -> None:
        stopped.by = stopped.by or sig.name
        doing(
            f"stopping after {sig.name} (a second one interrupts at once)", started=True, lost=LOST
        )
        stop()
        loop.remove_signal_handler(sig)  # a second Ctrl-C interrupts at once

    for sig in stop_signals:
        loop.add_signal_handler(sig, graceful, sig)
    doing("running the load", started=True, lost=LOST)
    try:
        yield stopped
    finally:
        for sig in stop_signals:
            loop.remove_signal_handler(sig)
        doing("printing the summary", started=True)


def say_stopped(by: str | None, elapsed_s: float, duration_s: float) -> None:
    """Tell a run cut short by a signal from one that ran its course: the summary's and the
    report's figures then cover only the time until the stop."""
    if by is None:
        return
    Console(stderr=True).print(
        f"stopped by {by} after {elapsed_s:.1f} s of {duration_s:g} s: the summary and report "
        "cover what ran until then",
        highlight=False,
    )


def exit_if_unreachable(result: ConcurrentResult, target: str) -> None:
    """Exit 3 naming the target and the first error when every request failed to connect."""
    if result.total and result.connect_failures == result.total:
        reason = result.errors[0] if result.errors else "no connection"
        Console(stderr=True).print(
            f"[red]target unreachable:[/red] every request to {target} failed to connect "
            f"({reason})",
            highlight=False,
        )
        raise typer.Exit(ExitCode.UNREACHABLE)
