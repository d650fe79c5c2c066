"""``soakmon version``."""

from __future__ import annotations

import typer

from monitor import __version__
from monitor.cli.app import app


@app.command()
def version() -> None:
    """Print the soakmon version."""
    typer.echo(__version__)
