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
            help="Suite, profile or daemon config files (kind detected from content), "
            "directories, or built-in suite and profile names (as `run` accepts them)."
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
    from monitor.cli.validate_notes import (
        print_applicability,
        print_profile_notes,
        print_suite_warnings,
    )
    from monitor.daemon.config import daemon_keys, is_daemon_config, load_config
    from monitor.errors import ExitCode
    from monitor.suites.errors import ConfigError, Problem
    from monitor.suites.loading.loader import (
        LoadedProfile,
        load_profile,
        load_suite,
        resolve_profile,
        validate_file,
    )
    from monitor.suites.loading.paths import builtin_profiles, builtin_suites
    from monitor.suites.loading.yamlsource import load_yaml

    against: LoadedProfile | None = None
    if profile is not None:
        try:
            against = load_profile(resolve_profile(profile))
        except ConfigError as exc:
            for problem in exc.problems:
                typer.echo(str(problem), err=True)
            raise typer.Exit(2) from None

    def check(file: Path) -> tuple[str | None, list[Problem]]:
        kind, problems = judge(file)
        defining = {"daemon config": "targets", "suite": "scenarios", "profile": "operations"}
        raw = _raw(file) if problems and kind is not None else None
        if isinstance(raw, dict) and defining.get(kind or "") not in raw:  # a guess: say so
            why = daemon_keys(raw) if kind == "daemon config" else []
            because = f" (it has {', '.join(why)})" if why else ""
            typer.echo(f"note: {file}: looks like a {kind}{because}: checked as one", err=True)
        return kind, problems

    def _raw(file: Path) -> object:
        try:
            return load_yaml(file, str(file))[0]
        except ConfigError:
            return None

    def judge(file: Path) -> tuple[str | None, list[Problem]]:
        if is_daemon_config(file):
            try:
                load_config(file)
            except ConfigError as exc:
                return "daemon config", exc.problems
            return "daemon config", []
        return validate_file(file, against.profile if against else None)

    def warn(text: str) -> None:
        typer.echo(text, err=text.startswith(("warning:", "note:")))

    def notes(file: Path, kind: str | None) -> None:
        builtin = [load_suite(p).suite for p in builtin_suites().values()]
        if kind == "profile":
            print_profile_notes(load_profile(file), builtin, warn)
        elif kind == "suite" and against is not None:
            loaded = load_suite(file, against.profile)
            print_applicability(loaded.suite, against, typer.echo)
            print_suite_warnings(loaded, against, warn)

    files: list[tuple[str, Path]] = []  # (what the user named, file)
    for path in paths:
        if path.is_dir():
            found = sorted(path.rglob("*.yaml")) + sorted(path.rglob("*.yml"))
            files += [(str(f), f) for f in found]
        elif not path.exists() and str(path) in builtin_suites():
            files.append((str(path), builtin_suites()[str(path)]))  # `run` accepts them too
        elif not path.exists() and str(path) in builtin_profiles():
            files.append((str(path), builtin_profiles()[str(path)]))
        else:
            files.append((str(path), path))
    failed = 0
    for label, file in files:
        kind, problems = check(file)
        if problems:
            failed += 1
            for problem in problems:
                typer.echo(str(problem), err=True)
        else:
            builtin = f", built-in {file}" if label != str(file) else ""
            typer.echo(f"{label}: ok ({kind}{builtin})")
            notes(file, kind)
    if against is not None and any(k == "suite" for k, _ in [check(f) for _, f in files]):
        typer.echo(f"profile {against.profile.name!r} ({against.file}):")
        print_profile_notes(against, [load_suite(p).suite for p in builtin_suites().values()], warn)
    if not files:
        typer.echo("no files to validate", err=True)
        raise typer.Exit(ExitCode.USAGE)
    if failed:
        typer.echo(f"{failed} of {len(files)} file(s) invalid", err=True)
        raise typer.Exit(ExitCode.USAGE)
