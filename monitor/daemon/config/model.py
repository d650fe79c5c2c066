"""The whole daemon config (``soakmon daemon --config PATH``): its sections, the daemon's
HTTP server and memory bounds, and the keys its suites are known by."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from monitor.alerts.config import AlertingConfig
from monitor.daemon.config.chaos import ChaosConfig
from monitor.daemon.config.fields import DaemonModel, Name, PositiveDuration
from monitor.daemon.config.probes import ProbeConfig
from monitor.daemon.config.suites import SuiteJob
from monitor.daemon.config.targets import Target
from monitor.daemon.config.traffic import BurstConfig, Soak
from monitor.daemon.config.verdicts import Analysis, SloConfig


class Server(DaemonModel):
    """The daemon's HTTP server (/metrics, /healthz, /readyz, /api/status, status page)."""

    host: str = "0.0.0.0"
    """Listen address. Default: 0.0.0.0."""
    port: Annotated[int, Field(ge=0, le=65535)] = 9109
    """Listen port; 0 picks a free one. Default: 9109."""


class HistoryConfig(DaemonModel):
    """Bounds on what the daemon remembers."""

    runs: Annotated[int, Field(gt=0)] = 50
    """Suite runs kept per suite. Default: 50."""
    violations: Annotated[int, Field(gt=0)] = 200
    """Active violations kept (oldest dropped first). Default: 200."""


class DaemonConfig(DaemonModel):
    """``soakmon daemon --config PATH``."""

    targets: Annotated[dict[Name, Target], Field(min_length=1)]
    """Services to monitor, by name."""
    suites: list[SuiteJob] = Field(default_factory=list)
    """Scheduled suite runs. Default: none."""
    soak: list[Soak] = Field(default_factory=list)
    """Continuous load. Default: none."""
    bursts: list[BurstConfig] = Field(default_factory=list)
    """Scheduled bursts. Default: none."""
    probes: list[ProbeConfig] = Field(
        default_factory=lambda: [ProbeConfig(name="self", kind="self")]
    )
    """Resource probes. Default: the daemon's own memory."""
    slo: SloConfig = Field(default_factory=SloConfig)
    """Objectives. Default: P95 < 500 ms, errors < 5 % over 5m."""
    analysis: Analysis = Field(default_factory=Analysis)
    """Soak analyses. Default: see fields."""
    server: Server = Field(default_factory=Server)
    """HTTP server. Default: 0.0.0.0:9109."""
    history: HistoryConfig = Field(default_factory=HistoryConfig)
    """Memory bounds. Default: see fields."""
    grace_period: PositiveDuration = 20.0
    """On SIGTERM, in-flight runs get this long to finish. Default: 20 s."""
    seed: int | None = None
    """Seed for jitter and suite randomness (reproducible runs). Default: random."""
    alerting: AlertingConfig = Field(default_factory=AlertingConfig)
    """Alerts the daemon sends (Alertmanager, webhooks). Default: none sent."""
    chaos: ChaosConfig = Field(default_factory=ChaosConfig)
    """Chaos experiments on a schedule, and the kill switch. Default: none."""


def suite_keys(cfg: DaemonConfig) -> list[tuple[str, str]]:
    """``(key, name)`` of each scheduled suite, in order: the key labels its state and metrics
    (``name@target``, or ``name#index`` when one suite is scheduled twice alike); the name is
    the suite file's stem or the built-in's name."""
    out = []
    for i, job in enumerate(cfg.suites):
        name = Path(job.suite).stem if job.suite.endswith((".yaml", ".yml")) else job.suite
        key = f"{name}@{job.target}" if cfg.suites.count(job) == 1 else f"{name}#{i}"
        out.append((key, name))
    return out
