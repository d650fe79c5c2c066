"""The ``soakmon`` Typer application; each command lives in a module of its own."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    name="soakmon",
    help="Continuous chaos and soak monitor for HTTP services.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from monitor import __version__

        typer.echo(__version__)
        raise typer.Exit


@app.callback()
def _root(
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the soakmon version and exit (as `soakmon version`).",
        ),
    ] = False,
) -> None:
    """Continuous chaos and soak monitor for HTTP services."""


def _register() -> None:
    # Command modules attach themselves to ``app`` on import; they import their heavy
    # dependencies inside the command functions, so start-up stays fast.
    from monitor.cli import (  # noqa: F401
        alerts,
        chaos,
        daemon,
        demo,
        init,
        load,
        probe,
        run,
        schema,
        target,
        validate,
        version,
    )


def main() -> None:
    """Console-script entry point."""
    _register()
    app()
