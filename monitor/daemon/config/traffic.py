"""The daemon's own traffic: continuous soaks (``soak:``, plain requests or profile
operations) and scheduled bursts (``bursts:``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from monitor.daemon.config.fields import (
    DaemonModel,
    Duration,
    Name,
    PositiveDuration,
    ScheduleSpec,
)


def _processes(value: Any) -> Any:
    """``processes``: a whole number >= 1, or ``auto``."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        shown = repr(value) if isinstance(value, str | bool) else value
        raise ValueError(f"must be a whole number >= 1 or auto (got {shown})")
    return value


class Request(DaemonModel):
    """A plain HTTP request of a soak or burst."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    """HTTP method. Default: GET."""
    path: str = "/"
    """Path relative to the target URL. Default: /."""
    json_body: Any = Field(default=None, alias="json")
    """JSON body. Default: none."""
    name: str | None = None
    """Operation label in metrics. Default: `METHOD path`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SoakOperation(DaemonModel):
    """A logical operation of the target's profile, run as a soak user."""

    op: str
    """Operation name, e.g. `points.balance` or `tasks.create`."""
    args: dict[str, Any] = Field(default_factory=dict)
    """Arguments; `${vu}` and `${iteration}` are replaced by the user and iteration numbers."""


class Soak(DaemonModel):
    """Continuous load beside the checks: plain requests (closed model with VUs, or open model
    with a rate), or profile operations run by users that register and re-authenticate."""

    name: Name
    """Name (metric label)."""
    target: Name
    """Name of a target in `targets`."""
    requests: list[Request] = Field(default_factory=list)
    """Plain requests each iteration cycles through. Default: none."""
    operations: list[SoakOperation] = Field(default_factory=list)
    """Profile operations each user cycles through (closed model; needs `vus`). Each user
    registers through the profile, and registers again when the target answers
    `unauthorized` (an expired token) before retrying once. Default: none."""
    think_time: Duration = 0.0
    """Pause between two operations of a user. Default: 0."""
    vus: Annotated[int, Field(gt=0)] | None = None
    """Virtual users (closed model). Default: 5 when `rate` is not set."""
    rate: Annotated[float, Field(gt=0)] | None = None
    """Iterations per second (open model). Default: none."""
    max_vus: Annotated[int, Field(gt=0)] = 100
    """With `rate`: most iterations in flight at once; beyond, iterations are dropped."""
    window: PositiveDuration = 10.0
    """Width of one throughput/latency window. Default: 10 s."""
    fast_path: bool = True
    """Send the soak's requests (plain `requests`, or the users' `operations`) through
    soakmon's lean HTTP/1.1 keep-alive transport when they qualify (an `http://` target and no
    `HEAD`; each VU keeps its own connection and cookies, and redirects are followed as aiohttp
    follows them), else through aiohttp. The status API's
    `soak.NAME.transport` and the log say which, and why not. Default: true."""
    processes: Annotated[
        Annotated[int, Field(ge=1)] | Literal["auto"], BeforeValidator(_processes)
    ] = 1
    """Worker processes running a soak of `requests` (a number, or `auto`: one per CPU the
    daemon may use). The VUs, or `rate` and `max_vus`, are split exactly (never more workers
    than VUs) and each window's results are merged exactly. A worker that dies is logged with
    its pid and exit status and the soak restarts (`soakmon_loop_restarts_total`); SIGTERM
    stops every worker. Default: 1 (in the daemon's process)."""

    @field_validator("processes")
    @classmethod
    def _processes_for_requests(cls, value: int | str, info: ValidationInfo) -> int | str:
        if value != 1 and info.data.get("operations"):
            raise ValueError(
                "worker processes run a soak of plain `requests`; an `operations` soak runs in "
                "the daemon's process (remove `processes`)"
            )
        return value

    @model_validator(mode="after")
    def _model(self) -> Soak:
        if self.vus is not None and self.rate is not None:
            raise ValueError("give `vus` (closed model) or `rate` (open model), not both")
        if bool(self.requests) == bool(self.operations):
            raise ValueError("give `requests` or `operations` (exactly one)")
        if self.operations and self.rate is not None:
            raise ValueError("`operations` run as users: give `vus`, not `rate`")
        return self


class BurstConfig(DaemonModel):
    """A spike of concurrent requests after an idle period, then a recovery check."""

    name: Name
    """Name (metric label)."""
    target: Name
    """Name of a target in `targets`."""
    request: Request = Field(default_factory=Request)
    """The request fired in the burst. Default: GET /."""
    size: Annotated[int, Field(gt=0)] = 20
    """Requests fired at once. Default: 20."""
    schedule: ScheduleSpec
    """When to fire."""
    recover_within: PositiveDuration = 10.0
    """p99 must be back near the baseline within this long. Default: 10 s."""
