"""``soakmon chaos run|list|validate|revert`` — fault injection experiments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.app import app

chaos_app = typer.Typer(
    help="Chaos experiments: faults injected beside a workload, judged by the invariants.",
    no_args_is_help=True,
)
app.add_typer(chaos_app, name="chaos")

StateDir = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help="Where the journal of active faults lives (default: $SOAKMON_STATE_DIR, else "
        "$XDG_STATE_HOME/soakmon, else ~/.local/state/soakmon).",
    ),
]


def _journal(state_dir: Path | None):  # type: ignore[no-untyped-def]
    from monitor.chaos.journal import Journal, default_state_dir

    return Journal(state_dir or default_state_dir())


@chaos_app.command("run")
def run(  # noqa: PLR0917 (a Typer command: one parameter per option)
    file: Annotated[Path, typer.Argument(help="Experiment file (YAML).", show_default=False)],
    state_dir: StateDir = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be injected; inject nothing.")
    ] = False,
    seed: Annotated[int | None, typer.Option(help="Seed of the workload.")] = None,
    json: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
    junit: Annotated[Path | None, typer.Option(help="Write the JUnit XML report here.")] = None,
    html: Annotated[Path | None, typer.Option(help="Write the HTML report here.")] = None,
) -> None:
    """Run one experiment: steady state, method, recovery, invariants.

    Faults left behind by a run that died are reverted first. SIGINT/SIGTERM abort the
    experiment and revert every active fault before exiting.

    Exit 0: passed (or dry run); 1: a check failed or the experiment was aborted; 2: bad
    experiment file (file:line: field: message); 4: skipped (steady state did not hold) or an
    action could not be injected or reverted.
    """
    import asyncio
    import signal

    from monitor.chaos.engine import revert_entries
    from monitor.chaos.experiment.load import load_experiment
    from monitor.chaos.experiment.report import (
        render_console,
        render_html,
        render_json,
        render_junit,
    )
    from monitor.chaos.experiment.runner import ExperimentRunner
    from monitor.errors import ExitCode
    from monitor.suites.errors import ConfigError

    try:
        loaded = load_experiment(file)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(ExitCode.USAGE) from None
    journal = _journal(state_dir)
    from monitor.engine.tracing import setup_tracing

    provider = setup_tracing()  # spans exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set

    async def main() -> object:
        for entry, error in await revert_entries(journal, journal.orphans()):
            state = "reverted" if error is None else f"revert FAILED: {error}"
            typer.echo(f"left by a dead run: {entry.kind} {entry.id}: {state}", err=True)
        kill = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, kill.set)
        try:
            runner = ExperimentRunner(journal, kill=kill, seed=seed, dry_run=dry_run,
                                      tracer=provider.get_tracer("soakmon.chaos"))  # fmt: skip
            return await runner.run(loaded)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    try:
        result = asyncio.run(main())
    finally:
        provider.shutdown()
    from monitor.chaos.experiment.result import ExperimentResult

    assert isinstance(result, ExperimentResult)
    typer.echo(render_console(result), nl=False)
    for path, render in ((json, render_json), (junit, render_junit), (html, render_html)):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(render(result))
    code = {"passed": ExitCode.OK, "failed": ExitCode.FAILED, "aborted": ExitCode.FAILED}
    raise typer.Exit(code.get(result.status, ExitCode.ERROR))


@chaos_app.command("list")
def list_kinds() -> None:
    """The fault action kinds and their fields."""
    from monitor.chaos.registry import ACTIONS

    for name in sorted(ACTIONS):
        kind = ACTIONS[name]
        fields = ", ".join(
            f"{f}{'' if info.is_required() else '?'}"
            for f, info in kind.settings.model_fields.items()
        )
        rbac = (
            " (Kubernetes RBAC: "
            + ", ".join(f"{'/'.join(a.verbs)} {a.resource}" for a in kind.access)
            + ")"
            if kind.access
            else ""
        )
        typer.echo(f"{name:<16} {kind.description}{rbac}\n{'':<16} fields: {fields}")


@chaos_app.command("validate")
def validate(
    files: Annotated[list[Path], typer.Argument(help="Experiment files.", show_default=False)],
) -> None:
    """Validate experiment files (each step against its kind, the suites, the guards).

    Exit 0 when all are valid, 2 otherwise (every problem as file:line: field: message)."""
    from monitor.chaos.experiment.load import load_experiment
    from monitor.errors import ExitCode
    from monitor.suites.errors import ConfigError

    bad = False
    for file in files:
        try:
            loaded = load_experiment(file)
        except ConfigError as exc:
            typer.echo(str(exc), err=True)
            bad = True
            continue
        exp = loaded.experiment
        typer.echo(f"{file}: ok (experiment {exp.name}: {len(exp.method)} step(s), "
                   f"{exp.method_span:g}s of faults)")  # fmt: skip
        for name, step, action in zip(exp.step_names(), exp.method, loaded.actions, strict=True):
            typer.echo(f"  +{step.after:g}s for {step.duration:g}s  {name}: {action.describe()}")
    if bad:
        raise typer.Exit(ExitCode.USAGE)


@chaos_app.command("revert")
def revert(
    state_dir: StateDir = None,
    all_entries: Annotated[
        bool,
        typer.Option(
            "--all", help="Also faults of runs that are still alive (they are reverted twice)."
        ),
    ] = False,
) -> None:
    """Revert the faults a dead run left active (from the journal).

    Exit 0 when nothing is left, 4 when a revert failed (it stays in the journal)."""
    import asyncio

    from monitor.chaos.engine import revert_entries
    from monitor.errors import ExitCode

    journal = _journal(state_dir)
    entries = journal.entries() if all_entries else journal.orphans()
    live = len(journal.entries()) - len(journal.orphans())
    if not entries:
        more = f" ({live} fault(s) of a live run: --all to revert them)" if live else ""
        typer.echo(f"nothing to revert in {journal.path}{more}")
        return
    failed = 0
    for entry, error in asyncio.run(revert_entries(journal, entries)):
        if error is None:
            typer.echo(f"reverted {entry.kind} {entry.id} (target {entry.target})")
        else:
            failed += 1
            typer.echo(f"FAILED to revert {entry.kind} {entry.id}: {error}", err=True)
    if failed:
        raise typer.Exit(ExitCode.ERROR)
