"""Shared plumbing of ``soakmon run`` and ``soakmon demo``: select and load suites, run them with
live progress, print the summary, write reports, map the outcome to an exit code."""

from __future__ import annotations

import asyncio
import fnmatch
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import typer
from rich.console import Console

from monitor.cli.entry import LOST, doing
from monitor.engine import ConnectionMode, RequestHooks, SyncMode
from monitor.errors import ExitCode
from monitor.report import ReportWriteError, print_summary, write_reports
from monitor.report.console import not_the_api
from monitor.suites.errors import ConfigError
from monitor.suites.loading.loader import (
    LoadedSuite,
    load_profile,
    load_suite,
    resolve_profile,
    resolve_suite,
)
from monitor.suites.loading.paths import builtin_suites
from monitor.suites.profile.coverage import ignored_arguments
from monitor.suites.profile.models import Profile
from monitor.suites.results import RunResult, ScenarioResult
from monitor.suites.run.attempts import AttemptPolicy
from monitor.suites.run.runner import RunOptions, TargetUnreachable, run_suites
from monitor.suites.suite.models import Scalar
from monitor.suites.suite.params import check_overrides, parse_overrides

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_ERROR = (
    ExitCode.OK,
    ExitCode.FAILED,
    ExitCode.USAGE,
    ExitCode.UNREACHABLE,
    ExitCode.ERROR,
)  # the codes are defined once, in monitor.errors.ExitCode


@dataclass(slots=True)
class Selection:
    """What to run: suites (validated), the profile, parameter overrides."""

    suites: list[LoadedSuite]
    profile_ref: str
    overrides: dict[str, Scalar] = field(default_factory=dict)


def usage_error(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_USAGE)


def check_url(target: str) -> str:
    parts = urlsplit(target)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise usage_error(f"--target must be an http(s) URL like http://host:8000, got {target!r}")
    return target.rstrip("/")


def check_ca_file(path: Path | None) -> str | None:
    """``--ca-file`` as a string, once OpenSSL has read it (a usage error naming the file)."""
    if path is None:
        return None
    try:
        ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError) as exc:
        raise usage_error(f"--ca-file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    return str(path)


def _filter(suites: list[LoadedSuite], patterns: Sequence[str]) -> list[LoadedSuite]:
    if not patterns:
        return suites
    out: list[LoadedSuite] = []
    for loaded in suites:
        kept = [
            s
            for s in loaded.suite.scenarios
            if any(
                fnmatch.fnmatch(s.name, p) or fnmatch.fnmatch(f"{loaded.suite.name}/{s.name}", p)
                for p in patterns
            )
        ]
        if kept:
            suite = loaded.suite.model_copy(update={"scenarios": kept})
            out.append(LoadedSuite(suite, loaded.file, loaded.locations))
    if not out:
        raise usage_error(f"no scenario matches --scenario {' '.join(patterns)}")
    return out


def select(
    suite_refs: Sequence[str],
    profile_ref: str,
    params: Sequence[str],
    scenarios: Sequence[str] = (),
    defaults: dict[str, Scalar] | None = None,
) -> Selection:
    """Load and validate everything before anything runs (exit 2 naming file, line, field)."""
    doing("loading the suites and the profile")
    try:
        refs = list(suite_refs) or list(builtin_suites())
        profile = load_profile(resolve_profile(profile_ref)).profile
        suites = [load_suite(resolve_suite(ref), profile) for ref in refs]
        overrides = parse_overrides(params)
        check_overrides(overrides, [s.suite for s in suites])
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        raise typer.Exit(EXIT_USAGE) from None
    merged = {**(defaults or {}), **overrides}
    return Selection(_filter(suites, scenarios), profile_ref, merged)


class ScenarioProgress:
    """Live progress on stderr: a spinner line while a scenario runs, one line when it ends."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.console = Console(stderr=True)
        self.total, self.done, self.quiet = total, 0, quiet
        self._status = None if quiet or not self.console.is_terminal else self.console.status("")

    def start(self, suite: str, scenario: str) -> None:
        if self._status is not None:
            self._status.update(f"[{self.done + 1}/{self.total}] {suite}/{scenario} …")
            self._status.start()

    def finish(self, result: ScenarioResult) -> None:
        self.done += 1
        if self._status is not None:
            self._status.stop()
        if self.quiet:
            return
        mark = {
            "passed": "[green]PASS[/]",
            "failed": "[red]FAIL[/]",
            "error": "[magenta]ERROR[/]",
            "skipped": "[yellow]N/A[/]",
        }
        extra = f" — {result.skip_reason}" if result.skip_reason else ""
        if result.attempts is not None and (
            len(result.attempts.runs) > 1 or result.attempts.max_spread() is not None
        ):
            extra = f" — {result.attempts.summary()}"
        if result.status == "error":
            extra = " — " + "; ".join(f"{c.name}: {c.message}" for c in result.error_checks)
        self.console.print(
            f"{mark[result.status]} [{self.done}/{self.total}] {result.suite}/{result.name} "
            f"({result.duration_s:.1f} s){extra}",
            highlight=False,
        )


def warn_ignored_arguments(profile: Profile, selection: Selection) -> None:
    """Warn (stderr) about arguments scenarios pass that the profile's requests never use."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for gap in ignored_arguments(profile, [s.suite for s in selection.suites]):
        grouped.setdefault((gap.operation, gap.argument), []).append(f"{gap.suite}/{gap.scenario}")
    for (operation, argument), users in sorted(grouped.items()):
        shown = ", ".join(users[:3]) + (f" and {len(users) - 3} more" if len(users) > 3 else "")
        typer.echo(
            f"warning: profile {profile.name!r}: {operation} ignores argument {argument!r}, "
            f"which {shown} pass(es); those checks may fail or pass for the wrong reason",
            err=True,
        )


def attempt_policy(attempts: int | None, run_all: bool, max_spread_us: float) -> AttemptPolicy:
    """The run's attempt defaults from ``--attempts``, ``--attempts-all``, ``--max-spread-us``."""
    if not max_spread_us > 0:
        raise usage_error(f"--max-spread-us must be > 0 microseconds, got {max_spread_us:g}")
    try:
        return AttemptPolicy(attempts=attempts, run_all=run_all, max_spread_s=max_spread_us / 1e6)
    except ValueError as exc:
        raise usage_error(str(exc)) from None


def execute(
    target: str,
    selection: Selection,
    *,
    seed: int | None,
    mode: ConnectionMode,
    timeout_s: float,
    quiet: bool,
    attempts: AttemptPolicy | None = None,
    hooks: RequestHooks | None = None,
    on_start: Callable[[str, str], None] | None = None,
    sync: SyncMode = SyncMode.AUTO,
    h2c: bool = False,
    ca_file: str | None = None,
) -> RunResult:
    """Run the selection against ``target`` (exit 3 when the target cannot be reached).
    ``hooks`` see every request; ``on_start`` is told each scenario before it runs."""
    profile = load_profile(resolve_profile(selection.profile_ref)).profile
    warn_ignored_arguments(profile, selection)
    total = sum(len(s.suite.scenarios) for s in selection.suites)
    progress = ScenarioProgress(total, quiet)

    def started(suite: str, scenario: str) -> None:
        doing(f"running {suite}/{scenario} [{progress.done + 1}/{total}]", started=True, lost=LOST)
        if on_start is not None:
            on_start(suite, scenario)
        progress.start(suite, scenario)

    options = RunOptions(
        seed=seed,
        overrides=selection.overrides,
        on_start=started,
        hooks=hooks,
        on_done=progress.finish,
        timeout_s=timeout_s,
        mode=mode,
        sync=sync,
        h2c=h2c,
        ca_file=ca_file,
        attempts=attempts or AttemptPolicy(),
    )
    doing(f"connecting to {target}")
    try:
        run = asyncio.run(run_suites(target, profile, selection.suites, options))
        doing("writing the summary and the reports", started=True)
        return run
    except TargetUnreachable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_UNREACHABLE) from None


def report(
    run: RunResult, *, json: Path | None, junit: Path | None, html: Path | None, quiet: bool
) -> None:
    """The summary table (unless ``quiet``) and the report files asked for, each named on
    stderr; a report that cannot be written is a usage error."""
    if not quiet:
        print_summary(run)
    try:
        written = write_reports(run, json=json, junit=junit, html=html)
    except ReportWriteError as exc:
        raise usage_error(str(exc)) from None
    for path in written:
        typer.echo(f"report: {path}", err=True)


def finish(
    run: RunResult, *, json: Path | None, junit: Path | None, html: Path | None, quiet: bool
) -> None:
    """Summary table, reports, verdict; raises ``typer.Exit`` with the run's exit code."""
    report(run, json=json, junit=junit, html=html, quiet=quiet)
    typer.echo(f"seed: {run.seed} (reproduce with --seed {run.seed})", err=True)
    if run.setup_errors_only:
        typer.echo(f"error: {not_the_api(run)}", err=True)
    raise typer.Exit(exit_code(run))


def exit_code(run: RunResult) -> int:
    """0 every check that applies holds; 1 a check failed (a violation); 4 nothing failed but
    some check, setup or read-back could not be evaluated (an error is not a violation)."""
    return {"passed": EXIT_OK, "failed": EXIT_FAILED, "error": EXIT_ERROR}[run.status]
