"""``soakmon target serve`` and ``soakmon target faults``: the reference target service."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import TYPE_CHECKING, Annotated

import typer

from monitor.cli.app import app
from monitor.errors import ExitCode

if TYPE_CHECKING:
    from monitor.reference import ReferenceServer

# monitor.reference (SQLAlchemy, drivers) is imported inside the commands: ~1 s that the other
# soakmon commands should not pay at start-up.

target_app = typer.Typer(
    help="The reference target service the built-in suites speak.", no_args_is_help=True
)
app.add_typer(target_app, name="target")


@target_app.command("faults")
def list_faults() -> None:
    """List the injectable faults, one per line: name — the guarantee it breaks.

    Race faults end in `[race window]`: `soakmon target serve --race-window S` sets how long
    they pause inside their window (0: the window the code makes, no pause)."""
    from monitor.reference import FAULTS

    width = max(len(name) for name in FAULTS)
    for fault in FAULTS.values():
        marker = " [race window]" if fault.race else ""
        typer.echo(f"{fault.name:<{width}} — {fault.description}{marker}")


@target_app.command("serve")
def serve(  # noqa: PLR0917 (a Typer command: one parameter per option)
    db: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="sqlite:///PATH or postgresql://USER@HOST:PORT/DB (default: temp SQLite).",
        ),
    ] = None,
    host: Annotated[str, typer.Option(metavar="HOST", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(metavar="N", help="Port to listen on (0: a free port).")
    ] = 8000,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault",
            metavar="NAME",
            help="Inject a fault (repeatable; see `soakmon target faults`).",
        ),
    ] = None,
    token_ttl: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            help="Tokens expire this long after they were issued (401; default: never).",
        ),
    ] = None,
    race_window: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            help="How long each race fault pauses inside its race window (0: no pause, the "
            "window the code makes; faults marked [race window] in `soakmon target faults`).",
        ),
    ] = 0.02,
) -> None:
    """Run the reference target until SIGTERM / SIGINT; prints `listening on http://H:P`."""
    from monitor.reference import DatabaseConfigError, DatabaseUnreachable, ReferenceServer

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if not 0 <= port <= 65535:
        _fail(ExitCode.USAGE, f"--port must be between 0 and 65535, got {port}")
    try:
        server = ReferenceServer(
            db_url=db,
            host=host,
            port=port,
            faults=fault or (),
            token_ttl=token_ttl,
            race_window=race_window,
        )
    except ValueError as exc:
        _fail(ExitCode.USAGE, str(exc))
    try:
        asyncio.run(_serve(server))
    except DatabaseUnreachable as exc:
        _fail(ExitCode.UNREACHABLE, str(exc))
    except DatabaseConfigError as exc:
        _fail(ExitCode.USAGE, f"bad --db: {exc}")
    except OSError as exc:
        _fail(ExitCode.USAGE, f"cannot listen on {host}:{port}: {exc.strerror or exc}")


async def _serve(server: ReferenceServer) -> None:
    from monitor.reference import FAULTS

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    try:
        if server.faults:
            typer.echo(f"faults: {', '.join(server.faults)}", err=True)
            if any(FAULTS[name].race for name in server.faults):
                typer.echo(f"race window: {server.race_window * 1000:g} ms", err=True)
        typer.echo(f"listening on {server.url}")
        await stop.wait()
    finally:
        await server.stop()


def _fail(code: int, message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)
