"""The experiment file (``soakmon chaos run FILE``; ``soakmon schema experiment``).

Durations are seconds or strings (``30s``, ``2m``). Each ``method`` step names a registered
action ``kind`` and takes that kind's own fields besides the ones below (validated against the
kind when the file loads, like daemon probes).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from monitor.engine.duration_fields import Duration, PositiveDuration

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


class ExperimentModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class TargetSpec(ExperimentModel):
    """The service under test."""

    url: Annotated[str, Field(pattern=r"^https?://")]
    """Base URL as soakmon reaches it (through a Toxiproxy proxy for network faults)."""
    profile: str = "reference"
    """API profile: a built-in name or a path. Default: reference."""
    timeout: PositiveDuration = 10.0
    """Per-request timeout; a request without an answer by then has an unknown outcome."""


class SloSpec(ExperimentModel):
    """Objectives of the workload, judged per phase (before, during, after)."""

    p95_ms: Annotated[float, Field(gt=0)] = 500.0
    """P95 latency must stay below this. Default: 500 ms."""
    error_rate: Annotated[float, Field(gt=0, le=1)] = 0.05
    """Share of failed or unknown requests must stay below this. Default: 0.05."""
    min_requests: Annotated[int, Field(gt=0)] = 20
    """A phase with fewer requests judges nothing. Default: 20."""


class Workload(ExperimentModel):
    """The ledger soak that runs through the whole experiment: users add points and transfer
    them to each other; at the end the total must equal what was committed (requests whose
    answer was lost count as unknown: either outcome is allowed)."""

    users: Annotated[int, Field(gt=1)] = 6
    """Accounts. Default: 6."""
    concurrency: Annotated[int, Field(gt=0)] = 6
    """Requests in flight at once (several can hit one account). Default: 6."""
    transfers: bool = True
    """Also transfer points between the accounts (when the profile maps points.transfer)."""
    amount: Annotated[int, Field(gt=0)] = 10
    """Points per add (transfers move up to this much). Default: 10."""
    think_time: Duration = 0.0
    """Pause of each worker between two requests. Default: 0."""
    window: PositiveDuration = 1.0
    """Width of one timeline sample. Default: 1 s."""
    connections: Literal["per-request", "shared"] = "per-request"
    """`per-request`: each request on a new connection, so a network fault drawn per
    connection (Toxiproxy's `toxicity`) hits that share of requests; `shared`: a keep-alive
    pool, as most clients do. Default: per-request."""


class SteadyState(ExperimentModel):
    """What must hold before the method starts; otherwise the experiment is skipped."""

    baseline: Duration = 5.0
    """The workload runs this long before the method; its SLO must hold. Default: 5 s."""
    suites: list[str] = Field(default_factory=list)
    """Suites (built-in name or path) that must pass. Default: none."""
    slo: bool = True
    """The baseline must meet the SLO. Default: true."""


class MethodStep(ExperimentModel):
    """One fault action of the method. Besides these fields, the kind's own."""

    model_config = ConfigDict(extra="allow", frozen=True, use_attribute_docstrings=True)

    name: Name | None = None
    """Name in reports and annotations. Default: the kind and the step's index."""
    kind: str
    """A registered action kind (`soakmon chaos list`)."""
    after: Duration = 0.0
    """Start this long after the method starts (steps whose spans overlap run together)."""
    duration: Duration = 10.0
    """How long the fault is held (instant kinds: how long until revert, e.g. the restart)."""

    @property
    def options(self) -> dict[str, Any]:
        """The kind's own fields, as written."""
        return dict(self.model_extra or {})


class During(ExperimentModel):
    """What runs while the faults are active (besides the workload)."""

    suites: list[str] = Field(default_factory=list)
    """Suites run once, while the fault is active; a failed check aborts. Default: none."""


class Recovery(ExperimentModel):
    """What must hold after the last revert."""

    within: PositiveDuration = 30.0
    """The target must answer again within this long. Default: 30 s."""
    observe: Duration = 5.0
    """Then the workload runs this long; its SLO must hold again. Default: 5 s."""
    suites: list[str] = Field(default_factory=list)
    """Suites that must pass again. Default: none."""
    slo: bool = True
    """The observe window must meet the SLO. Default: true."""


class Guardrails(ExperimentModel):
    """When to stop early, and what may be touched."""

    abort_on_violation: bool = True
    """Abort (skip the remaining steps, revert) when a suite run during the fault fails a
    check. Default: true."""
    max_burn_rate: Annotated[float, Field(gt=0)] | None = None
    """Abort when the workload's error share over `burn_window`, divided by the SLO's
    error_rate, exceeds this. Default: never."""
    burn_window: PositiveDuration = 5.0
    """Window of the burn rate. Default: 5 s."""
    max_concurrent_actions: Annotated[int, Field(gt=0)] = 4
    """Most actions active at once. Default: 4."""
    allow: dict[str, list[str]] = Field(default_factory=dict)
    """Scopes explicitly allowed, by kind (e.g. `namespace: [staging]`). Default: none."""
    dry_run: bool = False
    """Only say what would be done. Default: false."""


class Experiment(ExperimentModel):
    """``soakmon chaos run FILE``."""

    name: Name
    """Name (reports, metrics, annotations)."""
    description: str = ""
    """What the experiment shows. Default: empty."""
    target: TargetSpec
    """The service under test."""
    workload: Workload | None = Field(default_factory=Workload)
    """The ledger soak through the whole experiment; `null` for none. Default: see fields."""
    slo: SloSpec = Field(default_factory=SloSpec)
    """Objectives of the workload. Default: P95 < 500 ms, errors < 5 %."""
    steady_state: SteadyState = Field(default_factory=SteadyState)
    """What must hold before. Default: the baseline SLO."""
    method: Annotated[list[MethodStep], Field(min_length=1)]
    """The fault actions."""
    during: During = Field(default_factory=During)
    """What runs while the faults are active. Default: the workload only."""
    recovery: Recovery = Field(default_factory=Recovery)
    """What must hold after. Default: answering within 30 s, SLO met again."""
    guardrails: Guardrails = Field(default_factory=Guardrails)
    """When to stop early. Default: on a violation."""

    @model_validator(mode="after")
    def _slo_needs_workload(self) -> Experiment:
        if self.workload is None and (self.steady_state.slo or self.recovery.slo):
            raise ValueError(
                "the SLO is judged on the workload: set `steady_state.slo` and `recovery.slo` "
                "to false when `workload` is null"
            )
        return self

    def step_names(self) -> list[str]:
        return [s.name or f"{s.kind}-{i}" for i, s in enumerate(self.method)]

    @property
    def method_span(self) -> float:
        return max(s.after + s.duration for s in self.method)
