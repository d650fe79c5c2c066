"""``soakmon daemon --config PATH`` — the long-running monitor."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import typer

from monitor.cli.app import app


def _event_loop_policy(use_uvloop: bool) -> None:
    if not use_uvloop:
        return
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


@app.command()
def daemon(
    config: Path = typer.Option(  # noqa: B008
        ..., "--config", "-c", help="Daemon configuration file (YAML).", show_default=False
    ),
    port: int | None = typer.Option(
        None, "--port", help="Override server.port from the config (0 picks a free port)."
    ),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
    use_uvloop: bool = typer.Option(True, "--uvloop/--no-uvloop", help="Use uvloop."),
) -> None:
    """Run the long-running monitor: scheduled suites, soak and burst load, probes, analysis.

    Serves /metrics, /healthz, /readyz, /api/status and a status page until SIGTERM or SIGINT.

    Exit 0 after a clean stop, 2 when the configuration is invalid.
    """
    from monitor.daemon.app import Daemon  # heavy imports only when the command runs
    from monitor.daemon.config import load_config
    from monitor.errors import ExitCode
    from monitor.suites.errors import ConfigError

    level = getattr(logging, log_level.upper(), None)
    if not isinstance(level, int):
        typer.echo(f"error: --log-level: unknown level {log_level!r}", err=True)
        raise typer.Exit(ExitCode.USAGE)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        cfg = load_config(config)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(ExitCode.USAGE) from None
    if port is not None:
        cfg = cfg.model_copy(update={"server": cfg.server.model_copy(update={"port": port})})
    _event_loop_policy(use_uvloop)
    try:
        asyncio.run(Daemon(cfg).run(hard_exit=True))
    except OSError as exc:
        typer.echo(f"error: cannot start: {exc}", err=True)
        raise typer.Exit(ExitCode.USAGE) from None
