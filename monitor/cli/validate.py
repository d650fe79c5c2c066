"""``soakmon validate PATH ...`` — validate suites and profiles before anything runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.app import app
from monitor.suites.loader import validate_file


@app.command()
def validate(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Suite or profile files (kind detected from content) or directories."),
    ],
) -> None:
    """Validate suite and profile files; every problem is printed as file:line: field: message.

    Exit 0 when all files are valid, 2 otherwise.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.rglob("*.yaml")) + sorted(path.rglob("*.yml")))
        else:
            files.append(path)
    failed = 0
    for file in files:
        kind, problems = validate_file(file)
        if problems:
            failed += 1
            for problem in problems:
                typer.echo(str(problem), err=True)
        else:
            typer.echo(f"{file}: ok ({kind})")
    if not files:
        typer.echo("no files to validate", err=True)
        raise typer.Exit(2)
    if failed:
        typer.echo(f"{failed} of {len(files)} file(s) invalid", err=True)
        raise typer.Exit(2)
