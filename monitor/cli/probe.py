"""``soakmon probe --openapi URL|FILE --target URL`` — generated race probes from an OpenAPI
document, nothing written by hand; reports and exit codes as ``soakmon run``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.app import app


@app.command()
def probe(  # noqa: PLR0917 (a Typer command: one parameter per option)
    openapi: Annotated[
        str,
        typer.Option(
            "--openapi",
            metavar="URL|FILE",
            help="The OpenAPI 3.0/3.1 document (a path starting with / that is not a "
            "file is read from the target).",
        ),
    ],
    target: Annotated[
        str, typer.Option("--target", metavar="URL", help="The only host requests go to.")
    ],
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency", "-n", min=2, max=100, help="Identical requests fired together."
        ),
    ] = 10,
    max_requests: Annotated[
        int,
        typer.Option("--max-requests", min=1, help="Stop starting probes past this many requests."),
    ] = 2000,
    duration: Annotated[
        str,
        typer.Option(
            "--duration", metavar="DURATION", help="Stop starting probes after this long (30s, 5m)."
        ),
    ] = "5m",
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            "-x",
            metavar="PATTERN",
            help="Skip operations whose path, 'METHOD path', tag or operationId "
            "matches (glob; repeatable).",
        ),
    ] = None,
    sync: Annotated[
        str,
        typer.Option(
            "--sync", help="How a batch is delivered: last-byte, single-packet, auto, none."
        ),
    ] = "auto",
    timeout: Annotated[
        float, typer.Option("--timeout", help="Per-request timeout, seconds.")
    ] = 10.0,
    attempts: Annotated[
        int,
        typer.Option(
            "--attempts",
            min=1,
            max=20,
            help="Concurrent batches per probe (fresh resources each) until one shows a finding.",
        ),
    ] = 3,
    header: Annotated[
        list[str] | None,
        typer.Option(
            "--header",
            "-H",
            metavar="NAME:VALUE",
            help="Send with every request (e.g. an API key issued out of band; repeatable).",
        ),
    ] = None,
    save: Annotated[
        Path | None,
        typer.Option(
            "--save",
            metavar="DIR",
            help="Write each finding as a suite + profile that `soakmon run` (and the "
            "daemon) can replay.",
        ),
    ] = None,
    json: Annotated[Path | None, typer.Option("--json", help="Write the JSON report.")] = None,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="Write the JUnit XML report.")
    ] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML report.")] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only the verdict and errors.")
    ] = False,
) -> None:
    """Probe every state-changing operation of an OpenAPI document for races.

    N identical requests are released together (synchronised) and compared with the same
    request sent twice in a row; the state is read back.

    Findings: 5xx answers, more resources than a unique payload allows, phantom successes,
    lost updates, counters drifting from their rows. Exit 0 clean, 1 findings, 2 usage or
    document error, 3 target unreachable, 4 only errors (probes that could not run).
    """
    import asyncio
    import datetime as dt

    from monitor.cli.suiterun import check_url, exit_code, report, usage_error
    from monitor.engine import parse_duration
    from monitor.errors import ExitCode, TargetUnreachable
    from monitor.openapi.document import OpenApiError
    from monitor.openapi.probe import ProbeOptions, ProbeOutcome
    from monitor.openapi.report import run_result
    from monitor.openapi.report import scenario as probe_scenario
    from monitor.openapi.session_run import prepare, run_probes

    base = check_url(target)
    try:
        duration_s = parse_duration(duration)
    except ValueError as exc:
        raise usage_error(f"--duration: {exc}") from None
    source = base + openapi if openapi.startswith("/") and not Path(openapi).exists() else openapi
    try:
        prepared = prepare(source, base, list(exclude or []))
    except OpenApiError as exc:
        typer.echo(f"error: {exc}", err=True)
        on_target = source.startswith(base) and "cannot fetch" in str(exc)
        raise typer.Exit(ExitCode.UNREACHABLE if on_target else ExitCode.USAGE) from None
    if not quiet:
        for note in (*prepared.auth.notes, *prepared.session.notes):
            typer.echo(f"guess: {note}", err=True)
    options = ProbeOptions(
        concurrency=concurrency,
        max_requests=max_requests,
        duration_s=duration_s,
        sync=sync,
        timeout_s=timeout,
        attempts=attempts,
        headers=_headers(header or []),
    )

    def done(outcome: ProbeOutcome) -> None:
        if quiet:
            return
        p = outcome.probe
        status = probe_scenario(outcome).status  # the verdict the report gives
        mark = {"skipped": "N/A", "error": "ERROR", "failed": "FAIL"}.get(status, "PASS")
        why = outcome.skipped or outcome.error or "; ".join(f.title for f in outcome.findings)
        if status == "error" and not why:
            why = "no request succeeded: nothing was raced"
        extra = f" — {why}" if why else ""
        typer.echo(f"{mark:5} {p.name} ({p.op.method} {p.op.path}){extra}", err=True)

    started = dt.datetime.now(dt.UTC)
    try:
        outcomes = asyncio.run(
            run_probes(
                base,
                prepared.api,
                prepared.probes,
                values=prepared.values,
                auth=prepared.auth,
                session=prepared.session,
                options=options,
                on_done=done,
            )
        )
    except TargetUnreachable as exc:
        typer.echo(f"error: target unreachable: {exc}", err=True)
        raise typer.Exit(ExitCode.UNREACHABLE) from None
    run = run_result(base, started, outcomes, None)
    if save is not None:
        from monitor.openapi.save import save_findings

        try:
            for path in save_findings(save, prepared.doc, source, outcomes, concurrency):
                typer.echo(f"saved: {path}", err=True)
        except OSError as exc:
            raise usage_error(f"--save {save}: {exc.strerror}") from None
    report(run, json=json, junit=junit, html=html, quiet=quiet)
    raise typer.Exit(exit_code(run))


def _headers(values: list[str]) -> dict[str, str]:
    from monitor.cli.suiterun import usage_error

    out: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition(":")
        if not sep or not name.strip():
            raise usage_error(f"--header must be NAME:VALUE, got {value!r}")
        out[name.strip()] = text.strip()
    return out
