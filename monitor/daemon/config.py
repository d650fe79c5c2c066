"""The daemon's configuration (``soakmon daemon --config PATH``): typed, validated at load time.

Durations are numbers of seconds or strings such as ``30s``, ``5m``, ``1h30m``. Secrets are never
written into the file: a target's token comes from an environment variable or a mounted file,
and is never logged or exported.
"""

from __future__ import annotations

import difflib
import os
import ssl
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from monitor.alerts.config import AlertingConfig
from monitor.daemon.schedule import Schedule, ScheduleError
from monitor.engine.durations import MAX_DURATION_S, parse_duration
from monitor.suites.errors import ConfigError
from monitor.suites.loading.loader import load_model
from monitor.suites.loading.yamlsource import load_yaml
from monitor.suites.run.attempts import DEFAULT_MAX_SPREAD_S


def _seconds(value: Any) -> Any:
    if isinstance(value, str):
        return parse_duration(value)
    return value


def _processes(value: Any) -> Any:
    """``processes``: a whole number >= 1, or ``auto``."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        shown = repr(value) if isinstance(value, str | bool) else value
        raise ValueError(f"must be a whole number >= 1 or auto (got {shown})")
    return value


Duration = Annotated[float, BeforeValidator(_seconds), Field(ge=0, le=MAX_DURATION_S)]
PositiveDuration = Annotated[float, BeforeValidator(_seconds), Field(gt=0, le=MAX_DURATION_S)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


class DaemonModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Credentials(DaemonModel):
    """Where a static token for the target comes from (never the file itself)."""

    token_env: str | None = None
    """Environment variable holding the token. Default: none."""
    token_file: Path | None = None
    """File holding the token (e.g. a mounted Secret); re-read at every use. Default: none."""
    header: str = "Authorization"
    """Header that carries it. Default: Authorization."""
    scheme: str = "Bearer"
    """Prefix before the token in the header value; empty for none. Default: Bearer."""

    def token(self) -> str | None:
        """The current token, or None when neither source is set or present."""
        if self.token_file is not None:
            try:
                return self.token_file.read_text().strip() or None
            except OSError:
                return None
        if self.token_env:
            return os.environ.get(self.token_env) or None
        return None


class Target(DaemonModel):
    """A deployed service to monitor."""

    url: Annotated[str, Field(pattern=r"^https?://")]
    """Base URL of the service."""
    profile: str = "reference"
    """API profile: a built-in name or a path. Default: reference."""
    credentials: Credentials | None = None
    """Static credentials added to plain requests (suites use the profile's auth). Default: none."""
    timeout: PositiveDuration = 10.0
    """Per-request timeout. Default: 10 s."""
    h2c: bool = False
    """The service speaks HTTP/2 in clear text by prior knowledge (beside HTTP/1.1 on the same
    port): `sync: auto` then delivers concurrent phases single-packet. Default: false."""
    ca_file: str | None = None
    """PEM file of the CAs trusted for an https service (a private staging CA). Default: the
    system's trust store."""

    @field_validator("ca_file")
    @classmethod
    def _readable_ca(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ssl.create_default_context(cafile=value)
            except (OSError, ssl.SSLError) as exc:
                reason = getattr(exc, "strerror", None) or exc
                raise ValueError(f"cannot use {value}: {reason}") from None
        return value


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


class SuiteJob(DaemonModel):
    """A suite run on a schedule against a target."""

    suite: str
    """Built-in suite name or path to a suite file."""
    target: Name
    """Name of a target in `targets`."""
    schedule: ScheduleSpec
    """When to run it."""
    timeout: PositiveDuration = 600.0
    """Upper bound on one run; a run past it is cancelled and recorded as failed. Default: 10m."""
    scenarios: list[str] = Field(default_factory=list)
    """Only these scenarios of the suite. Default: all."""
    params: dict[str, int | float | bool | str] = Field(default_factory=dict)
    """Suite parameter overrides. Default: {}."""
    sync: Literal["auto", "last-byte", "single-packet", "none"] = "auto"
    """How concurrent phases are delivered (as `soakmon run --sync`; a scenario's or phase's
    `sync:` wins). Default: auto."""
    attempts: Annotated[int, Field(ge=1)] | None = None
    """Attempts of each race scenario (one with a concurrent phase), each with a fresh setup,
    until a check fails, as `soakmon run --attempts`. Default: the scenario's `attempts:`, else
    soakmon's default for race scenarios."""
    attempts_all: bool = False
    """Run every attempt even after a violation (the rate shows in
    `soakmon_scenario_attempts_total`). Default: false (stop at the first violation)."""
    max_spread_us: Annotated[float, Field(gt=0)] = DEFAULT_MAX_SPREAD_S * 1e6
    """A concurrent phase whose requests leave wider apart than this (send spread, µs) makes
    its attempt weak: counted as `weak`, re-run, never as held. A scenario's `max_spread_us:`
    wins. Default: 1000."""


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


def _probe_kinds_schema(schema: dict[str, Any]) -> None:
    """The JSON Schema of a probe entry: each registered kind's own fields, by ``kind``."""
    from monitor.observe.probes.registry import PROBE_KINDS

    props = schema.setdefault("properties", {})
    props.setdefault("kind", {})["enum"] = sorted(PROBE_KINDS)
    rules: list[dict[str, Any]] = []
    for name, kind in sorted(PROBE_KINDS.items()):
        own = kind.settings.model_json_schema()
        then: dict[str, Any] = {"properties": own.get("properties", {})}
        if own.get("required"):
            then["required"] = own["required"]
        rules.append({"if": {"properties": {"kind": {"const": name}}}, "then": then})
    schema["allOf"] = rules


class ProbeConfig(DaemonModel):
    """A resource probe read periodically. Besides the fields below, each kind takes its own
    (validated against the kind when the config loads):

    - `self`: the daemon itself; no fields.
    - `process`: a local process; `pid` or `match` (substring of the command line).
    - `scrape`: a target's /metrics; `url`, optional `series` (probe value -> series name:
      pool_size, pool_in_use, pool_waiting, memory_bytes; default: the reference target's).
    - `promql`: Prometheus; `url` (base URL) and `queries` (probe value -> PromQL).
    - `kubernetes`: pod memory from the metrics API; `namespace` and `selector`.
    """

    model_config = ConfigDict(
        extra="allow",
        frozen=True,
        use_attribute_docstrings=True,
        json_schema_extra=_probe_kinds_schema,
    )

    name: Name
    """Name (metric label)."""
    kind: str
    """A registered probe kind: self, process, scrape, promql, kubernetes (or a plugin's)."""
    target: Name | None = None
    """Target the readings belong to (metric label). Default: none."""
    every: PositiveDuration = 10.0
    """Read interval. Default: 10 s."""

    @property
    def options(self) -> dict[str, Any]:
        """The kind's own fields, as written in the config."""
        return dict(self.model_extra or {})


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


def load_config(path: Path) -> DaemonConfig:
    """Load and validate a daemon config whole: its fields, then every name it refers to
    (targets, suites, scenarios, parameters, profiles, soak operations, probe kinds).
    ``ConfigError`` lists every problem as ``file:line: field: message``."""
    from monitor.daemon.resolve import config_problems

    config, locs = load_model(path, DaemonConfig, "daemon config", str(path))
    problems = config_problems(config, locs)
    if problems:
        raise ConfigError(problems)
    return config


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


_SUITE_OR_PROFILE_KEYS = frozenset({"name", "description", "scenarios", "operations", "base_path",
                                    "auth", "outcomes", "outcome_names", "provides", "metrics",
                                    "headers", "timeout_s"})  # fmt: skip


def daemon_keys(data: object) -> list[str]:
    """Top-level keys of ``data`` that are (or nearly are, like ``target``) a daemon config's
    own and no suite's or profile's: ``targets``, ``soak``, ``probes``, ``slo`` ..."""
    if not isinstance(data, dict):
        return []
    own = set(DaemonConfig.model_fields) - _SUITE_OR_PROFILE_KEYS
    found = []
    for key in data:
        if not isinstance(key, str) or key in _SUITE_OR_PROFILE_KEYS:
            continue
        if key in own or difflib.get_close_matches(key, own, n=1, cutoff=0.8):
            found.append(key)
    return found


def looks_like_daemon_config(data: object) -> bool:
    """A mapping with ``targets``, or more keys of a daemon config than of a suite or profile
    (a daemon config whose ``targets`` was mistyped is still judged as one)."""
    if not isinstance(data, dict):
        return False
    if "targets" in data:
        return True
    theirs = [k for k in data if k in _SUITE_OR_PROFILE_KEYS]
    return len(daemon_keys(data)) > len(theirs)


def is_daemon_config(path: Path) -> bool:
    """Whether ``path`` holds a daemon config (see ``looks_like_daemon_config``)."""
    try:
        raw, _ = load_yaml(path, str(path))
    except ConfigError:
        return False
    return looks_like_daemon_config(raw)
