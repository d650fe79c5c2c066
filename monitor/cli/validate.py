"""``soakmon validate PATH ...`` — validate suites, profiles and daemon configs before anything
runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.app import app


@app.command()
def validate(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Suite, profile or daemon config files (kind detected from content), or "
            "directories."
        ),
    ],
) -> None:
    """Validate suites, profiles and daemon configs; problems print as file:line: field: message.

    Exit 0 when all files are valid, 2 otherwise.
    """
    from monitor.daemon.config import is_daemon_config, load_config
    from monitor.errors import ExitCode
    from monitor.suites.errors import ConfigError, Problem
    from monitor.suites.loader import validate_file

    def check(file: Path) -> tuple[str | None, list[Problem]]:
        if is_daemon_config(file):
            try:
                load_config(file)
            except ConfigError as exc:
                return "daemon config", exc.problems
            return "daemon config", []
        return validate_file(file)

    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.rglob("*.yaml")) + sorted(path.rglob("*.yml")))
        else:
            files.append(path)
    failed = 0
    for file in files:
        kind, problems = check(file)
        if problems:
            failed += 1
            for problem in problems:
                typer.echo(str(problem), err=True)
        else:
            typer.echo(f"{file}: ok ({kind})")
    if not files:
        typer.echo("no files to validate", err=True)
        raise typer.Exit(ExitCode.USAGE)
    if failed:
        typer.echo(f"{failed} of {len(files)} file(s) invalid", err=True)
        raise typer.Exit(ExitCode.USAGE)
