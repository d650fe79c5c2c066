"""``soakmon alerts test --config PATH`` — one test alert through every configured sink."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import typer

from monitor.cli.app import app

alerts_app = typer.Typer(help="Alert sinks (Alertmanager, webhooks).", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


@alerts_app.command("test")
def send_test(
    config: Path = typer.Option(  # noqa: B008
        ..., "--config", "-c", help="Daemon configuration file (YAML).", show_default=False
    ),
    duration: str = typer.Option(
        "5m", "--duration", help="How long the test alert stays firing (its endsAt)."
    ),
) -> None:
    """Send one test alert through every configured sink and report each result.

    The alert (alertname SoakmonTestAlert, severity info) goes to every receiver of the
    config's `alerting` section, like `amtool alert add`.

    Exit 0 when every receiver accepted it, 4 when any failed, 2 on a configuration error.
    """
    from monitor.alerts.model import Alert
    from monitor.alerts.service import build_transports, send_direct
    from monitor.daemon.config import load_config
    from monitor.engine.durations import parse_duration
    from monitor.errors import ExitCode
    from monitor.suites.errors import ConfigError

    try:
        cfg = load_config(config)
        seconds = parse_duration(duration)
    except (ConfigError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(ExitCode.USAGE) from None
    alerting = cfg.alerting
    if not alerting.sinks:
        typer.echo(f"error: {config}: alerting.sinks is empty: nothing to test", err=True)
        raise typer.Exit(ExitCode.USAGE)
    now = time.time()
    host = socket.gethostname()
    alert = Alert(
        labels={**alerting.labels, "alertname": "SoakmonTestAlert", "severity": "info",
                "instance": host},
        annotations={
            "summary": "Test alert from `soakmon alerts test`",
            "description": f"Sent from {host} with {config}: this receiver is wired up. "
            "Nothing is broken.",
        },
        starts_at=now,
        ends_at=now + seconds,
        generator_url=alerting.external_url or "",
    )  # fmt: skip

    async def send() -> list[tuple[str, str | None]]:
        transports = build_transports(alerting, alerting.external_url or "")
        try:
            results = await send_direct(transports, [alert])
        finally:
            for t in transports:
                await t.aclose()
        return [(r.receiver, r.error) for r in results]

    failed = 0
    for receiver, error in asyncio.run(send()):
        if error is None:
            typer.echo(f"ok      {receiver}")
        else:
            failed += 1
            typer.echo(f"FAILED  {receiver}: {error}")
    if failed:
        raise typer.Exit(ExitCode.ERROR)
