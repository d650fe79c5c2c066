"""What the daemon judges its traffic and probes by: service-level objectives (``slo:``) and
the soak analyses (``analysis:``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from monitor.daemon.config.fields import DaemonModel, Duration, PositiveDuration


class SloConfig(DaemonModel):
    """Service-level objectives judged over a rolling window of soak and burst traffic."""

    window: PositiveDuration = 300.0
    """Rolling window. Default: 5m."""
    p95_ms: Annotated[float, Field(gt=0)] = 500.0
    """P95 latency must stay below this. Default: 500 ms."""
    error_rate: Annotated[float, Field(gt=0, le=1)] = 0.05
    """Share of failed requests must stay below this. Default: 0.05."""
    min_requests: Annotated[int, Field(gt=0)] = 20
    """Fewer requests in the window judge nothing. Default: 20."""


class Analysis(DaemonModel):
    """Soak analyses over the probes' and soaks' rolling history."""

    horizon: PositiveDuration = 3600.0
    """How much history the analyses look at. Default: 1h."""
    memory_growth_mib_per_hour: Annotated[float, Field(gt=0)] = 50.0
    """Target memory may grow at most this fast. Default: 50 MiB/h."""
    memory_min_span: PositiveDuration = 600.0
    """Memory growth is judged only over at least this much history. Default: 10m."""
    memory_warmup: Duration = 300.0
    """Memory samples of the first this-long after start-up are ignored (caches and pools
    filling up are not a leak). Default: 5m."""
    pool_max_saturated_ratio: Annotated[float, Field(gt=0, le=1)] = 0.5
    """Share of scrapes allowed to see the pool saturated. Default: 0.5."""
    throughput_max_drop: Annotated[float, Field(gt=0, le=1)] = 0.2
    """Throughput may fall at most this much from the first to the last third. Default: 0.2."""
