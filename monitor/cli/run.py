"""``soakmon run [SUITE ...] --target URL`` — run suites once against a deployed target."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.app import app
from monitor.engine import ConnectionMode, SyncMode


@app.command()
def run(  # noqa: PLR0917 (a Typer command: one parameter per option)
    suites: Annotated[
        list[str] | None,
        typer.Argument(help="Built-in suite names or suite files (default: every built-in)."),
    ] = None,
    target: Annotated[
        str, typer.Option(help="Base URL of the service under test (required).")
    ] = "",
    profile: Annotated[
        str, typer.Option(help="API profile: a built-in name or a profile file.")
    ] = "reference",
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="Override a suite parameter: NAME=VALUE (repeatable)."),
    ] = None,
    scenario: Annotated[
        list[str] | None,
        typer.Option("--scenario", help="Only scenarios matching NAME or SUITE/NAME (glob)."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed for user names, dates and operation order.")
    ] = None,
    mode: Annotated[
        ConnectionMode, typer.Option(help="HTTP connection mode of the engine.")
    ] = ConnectionMode.SHARED,
    timeout: Annotated[float, typer.Option(help="Per-request timeout, seconds.")] = 10.0,
    sync: Annotated[
        SyncMode,
        typer.Option(
            help="How each concurrent phase's requests are delivered together: last-byte "
            "(HTTP/1.1), single-packet (HTTP/2), auto (single-packet when the target speaks "
            "HTTP/2, else last-byte) or none. A scenario's or phase's `sync:` wins."
        ),
    ] = SyncMode.AUTO,
    h2c: Annotated[
        bool, typer.Option(help="The target speaks HTTP/2 in clear text (prior knowledge).")
    ] = False,
    ca_file: Annotated[
        Path | None, typer.Option(help="PEM file of the CAs to trust for an https:// target.")
    ] = None,
    json: Annotated[Path | None, typer.Option(help="Write the JSON report here.")] = None,
    junit: Annotated[Path | None, typer.Option(help="Write the JUnit XML report here.")] = None,
    html: Annotated[Path | None, typer.Option(help="Write the HTML report here.")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress and no summary table.")] = False,
    shard: Annotated[
        str | None,
        typer.Option(help="Run only share I of N of the scenarios (I/N, I from 0), e.g. 0/4."),
    ] = None,
    pushgateway: Annotated[
        str | None,
        typer.Option(help="Push the run's metrics to this Prometheus Pushgateway URL at the end."),
    ] = None,
    push_job: Annotated[str, typer.Option(help="The `job` label of pushed metrics.")] = "soakmon",
    attempts: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Attempts of each race scenario (one with a concurrent phase), each with a "
            "fresh setup, until a check fails (default: the scenario's `attempts:`, else 4).",
        ),
    ] = None,
    attempts_all: Annotated[
        bool,
        typer.Option(
            "--attempts-all",
            help="Run every attempt even after a violation and report the rate (k of n).",
        ),
    ] = False,
    max_spread_us: Annotated[
        float,
        typer.Option(
            help="A concurrent phase whose requests leave wider apart than this (send spread, "
            "µs) makes its attempt weak: reported, re-run, never counted as held (a "
            "scenario's `max_spread_us:` wins).",
        ),
    ] = 1000.0,
) -> None:
    """Run suites once against a deployed target.

    Exit 0: all checks hold; 1: a check failed; 2: usage or configuration error (file, line,
    field); 3: the target cannot be reached; 4: no check failed but some could not be evaluated
    (errors, e.g. a setup step the target refused)."""
    from monitor.cli import suiterun  # heavy imports only when the command runs

    if not target:
        raise suiterun.usage_error("--target URL is required")
    url = suiterun.check_url(target)
    if timeout <= 0:
        raise suiterun.usage_error("--timeout must be > 0")
    ca = suiterun.check_ca_file(ca_file)
    selection = suiterun.select(suites or [], profile, param or [], scenario or [])
    recorder = None
    if shard is not None or pushgateway is not None:
        from monitor.cli import pushing

        selection, instance = pushing.apply_shard(selection, shard)
        if pushgateway is not None:
            recorder = pushing.RunRecorder(pushgateway, push_job, instance, url)
    try:
        result = suiterun.execute(
            url, selection, seed=seed, mode=mode, timeout_s=timeout, quiet=quiet,
            sync=sync, h2c=h2c, ca_file=ca,
            attempts=suiterun.attempt_policy(attempts, attempts_all, max_spread_us),
            hooks=recorder.hooks if recorder else None,
            on_start=recorder.on_start if recorder else None,
        )  # fmt: skip
    except typer.Exit:
        if recorder is not None:  # the target was unreachable: every suite failed
            recorder.record_unreachable(selection.suites)
            recorder.push()
        raise
    if recorder is not None:
        recorder.record(result)
        recorder.push()
    suiterun.finish(result, json=json, junit=junit, html=html, quiet=quiet)
