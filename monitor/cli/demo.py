"""``soakmon demo`` — every built-in suite against an embedded reference target."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.app import app
from monitor.cli.entry import doing

#: Shorter than the spec's 60 s so the demo stays well under two minutes; `--param` overrides.
DEMO_PARAMS: dict[str, int | float | bool | str] = {"sustained_s": 10}


@contextmanager
def embedded_target(db: str | None, faults: list[str], race_window: float = 0.02) -> Iterator[str]:
    """Run the reference target on a free loopback port, on its own event loop in a thread
    of this process, so the target and the monitor do not share one loop."""
    from monitor.reference import ReferenceServer

    ready = threading.Event()
    stop: asyncio.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None
    state: dict[str, object] = {}

    async def serve() -> None:
        nonlocal stop, loop
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        try:
            async with ReferenceServer(db_url=db, faults=faults, race_window=race_window) as server:
                state["url"] = server.url
                ready.set()
                await stop.wait()
        except BaseException as exc:
            state["error"] = exc
            ready.set()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), name="reference", daemon=True)
    thread.start()
    ready.wait()
    if "error" in state:
        thread.join()
        raise state["error"]  # type: ignore[misc]
    try:
        yield str(state["url"])
    finally:
        if loop is not None and stop is not None:
            loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)


@app.command()
def demo(  # noqa: PLR0917 (a Typer command: one parameter per option)
    db: Annotated[
        str | None, typer.Option(help="Target database URL (default: a temporary SQLite file).")
    ] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option("--fault", help="Inject a reference fault (see `soakmon target faults`)."),
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="Override a suite parameter: NAME=VALUE.")
    ] = None,
    scenario: Annotated[
        list[str] | None,
        typer.Option("--scenario", help="Only scenarios matching NAME or SUITE/NAME (glob)."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for a reproducible run.")] = None,
    race_window: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            help="How long the target's race faults pause inside their window (0: natural).",
        ),
    ] = 0.02,
    attempts: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Attempts of each race scenario (default: 1 while the target widens its race "
            "windows, soakmon run's default with --race-window 0).",
        ),
    ] = None,
    json: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
    junit: Annotated[Path | None, typer.Option(help="Write the JUnit XML report here.")] = None,
    html: Annotated[Path | None, typer.Option(help="Write the HTML report here.")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress and no summary table.")] = False,
) -> None:
    """Run every built-in suite against an embedded reference target.

    The target runs in-process on a free loopback port with a temporary SQLite database
    (unless --db). Exit codes as for `soakmon run`."""
    from monitor.cli import suiterun  # heavy imports only when the command runs
    from monitor.engine import ConnectionMode
    from monitor.reference import FAULTS, DatabaseConfigError, DatabaseUnreachable
    from monitor.suites.run.attempts import AttemptPolicy

    faults = fault or []
    if race_window < 0:
        raise suiterun.usage_error(f"--race-window must be >= 0 seconds, got {race_window}")
    unknown = [f for f in faults if f not in FAULTS]
    if unknown:
        raise suiterun.usage_error(
            f"unknown fault {', '.join(unknown)} (known: {', '.join(sorted(FAULTS))})"
        )
    selection = suiterun.select([], "reference", param or [], scenario or [], DEMO_PARAMS)
    doing("starting the reference target")
    try:
        with embedded_target(db, faults, race_window) as url:
            if not quiet:
                label = f" with fault(s) {', '.join(faults)}" if faults else ""
                typer.echo(f"reference target on {url}{label}", err=True)
            result = suiterun.execute(
                url, selection, seed=seed, mode=ConnectionMode.SHARED, timeout_s=10.0, quiet=quiet,
                attempts=AttemptPolicy(attempts=attempts or (1 if race_window > 0 else None)),
            )  # fmt: skip
    except DatabaseUnreachable as exc:  # before its base class, DatabaseConfigError
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(suiterun.EXIT_UNREACHABLE) from None
    except DatabaseConfigError as exc:
        raise suiterun.usage_error(f"bad --db: {exc}") from None
    suiterun.finish(result, json=json, junit=junit, html=html, quiet=quiet)
