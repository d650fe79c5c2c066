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
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            "-p",
            help="Validate suites against this profile (built-in name or path): operation and "
            "outcome names it defines, and server errors its rules would hide.",
        ),
    ] = None,
) -> None:
    """Validate suites, profiles and daemon configs; problems print as file:line: field: message.

    Exit 0 when all files are valid (warnings do not fail), 2 otherwise.
    """
    from monitor.daemon.config import is_daemon_config, load_config
    from monitor.errors import ExitCode
    from monitor.suites.coverage import unused_arguments
    from monitor.suites.errors import ConfigError, Problem
    from monitor.suites.loader import (
        LoadedProfile,
        load_profile,
        load_suite,
        resolve_profile,
        validate_file,
    )
    from monitor.suites.operations import OUTCOMES
    from monitor.suites.paths import builtin_suites
    from monitor.suites.vocabulary import (
        hidden_server_errors,
        own_outcomes,
        undefined_operations,
        unknown_server_error_rules,
    )
    from monitor.suites.yamlsource import format_path

    against: LoadedProfile | None = None
    if profile is not None:
        try:
            against = load_profile(resolve_profile(profile))
        except ConfigError as exc:
            for problem in exc.problems:
                typer.echo(str(problem), err=True)
            raise typer.Exit(2) from None

    def check(file: Path) -> tuple[str | None, list[Problem]]:
        if is_daemon_config(file):
            try:
                load_config(file)
            except ConfigError as exc:
                return "daemon config", exc.problems
            return "daemon config", []
        return validate_file(file, against.profile if against else None)

    def notes(file: Path, kind: str | None) -> None:
        if kind == "profile":
            loaded = load_profile(file)
            builtin = [load_suite(p).suite for p in builtin_suites().values()]
            for gap in unused_arguments(loaded.profile, builtin):
                op_path: tuple[str | int, ...] = ("operations", gap.operation)
                op_line = loaded.locations.line_of(op_path)
                where = f"{loaded.file}:{op_line}" if op_line else loaded.file
                typer.echo(f"warning: {where}: {format_path(op_path)}: {gap.message()}", err=True)
            own = ", ".join(own_outcomes(loaded.profile)) or "none"
            typer.echo(f"  outcomes of its own: {own}")
            typer.echo(f"  canonical outcomes: {', '.join(OUTCOMES)}")
            for path in unknown_server_error_rules(loaded.profile):
                line = loaded.locations.line_of(path)
                typer.echo(
                    f"note: {loaded.file}:{line}: {format_path(path)}: 5xx answers are unknown "
                    "(may or may not have taken effect); they still count as server errors: "
                    "scenarios fail on them unless `server_errors: report`, expected_outcomes "
                    "refuses them unless `server_errors: fit`",
                    err=True,
                )
        elif kind == "suite" and against is not None:
            loaded_suite = load_suite(file, against.profile)
            found = [
                *undefined_operations(loaded_suite.suite, against.profile),
                *hidden_server_errors(loaded_suite.suite, against.profile),
            ]
            for path, message in found:
                line = loaded_suite.locations.line_of(path)
                where = f"{loaded_suite.file}:{line}" if line else loaded_suite.file
                typer.echo(f"warning: {where}: {format_path(path)}: {message}", err=True)

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
            notes(file, kind)
    if not files:
        typer.echo("no files to validate", err=True)
        raise typer.Exit(ExitCode.USAGE)
    if failed:
        typer.echo(f"{failed} of {len(files)} file(s) invalid", err=True)
        raise typer.Exit(ExitCode.USAGE)
