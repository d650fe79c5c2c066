"""The ``soakmon`` Typer application; each command lives in a module of its own."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="soakmon",
    help="Continuous chaos and soak monitor for HTTP services.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Continuous chaos and soak monitor for HTTP services."""


def _register() -> None:
    # Command modules attach themselves to ``app`` on import; they import their heavy
    # dependencies inside the command functions, so start-up stays fast.
    from monitor.cli import (  # noqa: F401
        alerts,
        chaos,
        daemon,
        demo,
        load,
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
