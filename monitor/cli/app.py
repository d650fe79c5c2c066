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
    # Command modules attach themselves to ``app`` on import.
    from monitor.cli import version  # noqa: F401
    from monitor.cli import load  # noqa: F401
    from monitor.cli import target  # noqa: F401
    from monitor.cli import validate, schema, run, demo  # noqa: F401
    from monitor.cli import daemon  # noqa: F401


def main() -> None:
    """Console-script entry point."""
    _register()
    app()
