"""What every section of the daemon config is built of: the strict frozen base model, durations
(numbers of seconds or strings such as ``30s``, ``5m``, ``1h30m``), names, and schedules."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from monitor.daemon.schedule import Schedule, ScheduleError
from monitor.engine.duration_fields import BoundedDuration, BoundedPositiveDuration

Duration = BoundedDuration
PositiveDuration = BoundedPositiveDuration
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


class DaemonModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class ScheduleSpec(DaemonModel):
    """When something runs: an interval or a cron expression (UTC), with jitter."""

    every: PositiveDuration | None = None
    """Run every this long. Default: none."""
    cron: str | None = None
    """Cron expression (5 fields, UTC). Default: none."""
    jitter: Duration = 0.0
    """Random delay added to each run, up to this long. Default: 0."""

    @model_validator(mode="after")
    def _valid(self) -> ScheduleSpec:
        try:
            self.schedule()
        except ScheduleError as exc:
            raise ValueError(str(exc)) from None
        return self

    def schedule(self) -> Schedule:
        return Schedule(every_s=self.every, cron=self.cron, jitter_s=self.jitter)
