"""Chaos experiments on a schedule (``chaos:``), the daemon's state they must find holding,
and the kill switch's token."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator

from monitor.daemon.config.fields import DaemonModel, Name, PositiveDuration, ScheduleSpec
from monitor.daemon.config.targets import Credentials


class ChaosSteadyState(DaemonModel):
    """What of the daemon's own state must hold for the job's target before the method starts
    (checked after the experiment's baseline); otherwise the run is skipped with the reason."""

    suites: list[str] = Field(default_factory=list)
    """Suites the daemon schedules on the target (by name, as in `suites:`, or by key such as
    `smoke@api`) whose latest run must have passed; one not run yet holds nothing. Default:
    none."""
    slos: list[str] = Field(default_factory=list)
    """The daemon's verdicts on the target that must hold, conclusively: `error_rate`, `p95`,
    `memory_growth`, `pool_not_exhausted`, `throughput_stable:SOAK`. Default: none."""


class SoakBurn(DaemonModel):
    """Abort the method (revert every fault) when the daemon's soak traffic on the target burns
    its error budget (`slo.error_rate`) faster than this."""

    max_burn_rate: Annotated[float, Field(gt=0)]
    """Abort when the soak's error share since the method started (at most `window`), divided
    by `slo.error_rate`, exceeds this."""
    window: PositiveDuration = 30.0
    """Longest stretch of soak traffic judged. Default: 30 s."""
    min_requests: Annotated[int, Field(gt=0)] | None = None
    """Fewer soak requests judge nothing. Default: `slo.min_requests`."""


class ChaosJob(DaemonModel):
    """A chaos experiment run on a schedule (never two at once on one target)."""

    experiment: str
    """Experiment file (`soakmon chaos validate FILE`), relative to the working directory."""
    target: Name | None = None
    """Run it against this target of `targets` (its URL and profile replace the file's);
    default: the file's own target."""
    schedule: ScheduleSpec
    """When to run it."""
    dry_run: bool = False
    """Only log what would be injected. Default: false."""
    steady_state: ChaosSteadyState = Field(default_factory=ChaosSteadyState)
    """The daemon's suites and SLOs that must hold on `target` before the method (besides the
    file's own steady state). Default: none."""
    soak_burn: SoakBurn | None = None
    """Also abort on the daemon's soak traffic on `target` burning its error budget (besides
    the file's `guardrails.max_burn_rate` on the experiment's own workload). Default: off."""

    @model_validator(mode="after")
    def _needs_target(self) -> ChaosJob:
        if self.target is None and (
            self.steady_state.suites or self.steady_state.slos or self.soak_burn is not None
        ):
            raise ValueError(
                "`steady_state` and `soak_burn` judge the daemon's state of a target: set "
                "`target` to one of `targets`"
            )
        return self


class ChaosConfig(DaemonModel):
    """Fault injection beside the soak (`soakmon chaos`), with its kill switch."""

    experiments: list[ChaosJob] = Field(default_factory=list)
    """Scheduled experiments. Default: none."""
    state_dir: Path | None = None
    """Where the journal of active faults lives (reverted at start after a crash). Default:
    $SOAKMON_STATE_DIR, else $XDG_STATE_HOME/soakmon, else ~/.local/state/soakmon."""
    token_env: str | None = "SOAKMON_CHAOS_TOKEN"
    """Environment variable holding the token of the kill switch API. Default:
    SOAKMON_CHAOS_TOKEN."""
    token_file: Path | None = None
    """File holding that token (e.g. a mounted Secret; wins over `token_env`). Default: none."""
    paused: bool = False
    """Start with chaos paused (resume through the API). Default: false."""

    def token(self) -> str | None:
        """The kill switch token, or None (then every chaos API call is refused)."""
        return Credentials(token_env=self.token_env, token_file=self.token_file).token()
