"""Typed models of suites (``scenarios/*.yaml``).

Every field has a one-line docstring (unit and default) that becomes its description in the JSON
Schema printed by ``soakmon schema suite``, so editors can complete and check suites.
Unknown keys are errors. Values written as ``"${expr}"`` are templates, rendered at run time
against ``params``, ``state`` (saved values), ``session`` (the acting user), ``index`` (0-based
repetition) and the run's reproducible ``vars`` (``today``, ``dates``, ``run_id``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

TEMPLATE_PATTERN = r"^\$\{.+\}$"
Template = Annotated[
    str, Field(pattern=TEMPLATE_PATTERN, description="a ${expr} template evaluated at run time")
]
Count = Annotated[int, Field(gt=0)] | Template
Seconds = Annotated[float, Field(ge=0)] | Template
Scalar = int | float | bool | str


def _check_param(value: Any) -> Any:
    if isinstance(value, dict) and ("min" in value or "max" in value):
        if set(value) != {"min", "max"}:
            raise ValueError("a range is {min: N, max: M} (both, nothing else)")
        if value["min"] > value["max"]:
            raise ValueError(f"a range's min ({value['min']}) is above its max ({value['max']})")
    return value


#: A parameter: a scalar; a range `{min: 10, max: 50}` (a rule that allows any value in it, e.g.
#: a random completion bonus); or a count per kind `{front_row: 2, backstage: 2}`.
Param = Annotated[
    Scalar | dict[Annotated[str, Field(min_length=1)], int | float],
    AfterValidator(_check_param),
]
Text = Annotated[str, StringConstraints(strip_whitespace=True)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z_][\w]*$", description="an identifier")]
SyncName = Literal["auto", "last-byte", "single-packet", "none"]
"""How a concurrent phase's requests are delivered (see ``monitor.engine.sync``)."""
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="lower-case-with-dashes")]


def _listify(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


_ONE_OR_LIST = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
"""The JSON Schema of a field that takes one string for a list of one (``_listify``)."""


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Needs(Model):
    """What a scenario or a check needs from the target beyond the operations it runs; unmet
    needs make it *not applicable* (with the reason), never failed. Names are free-form: any
    operation name, any result field, any logical metric (see `provides` / `metrics` of the
    profile)."""

    operations: list[str] = Field(default_factory=list)
    """Operations it needs although no step runs them, e.g. `rewards.buy`. Default: none."""
    fields: list[str] = Field(default_factory=list)
    """Result fields it reads, `<noun>.<field>`: `tasks.version`, `tasks.user_id`,
    `points.transaction_count`. A profile provides every field unless it says otherwise
    (`provides: {fields: {tasks.version: false}}`). Default: none."""
    metrics: list[str] = Field(default_factory=list)
    """Logical target metrics it reads (`rss_bytes`, `db_pool_size`, `db_pool_in_use`,
    `db_pool_waiting`, …): provided when the profile maps `target.metrics` and names the series
    under `metrics`. Default: none."""

    def __bool__(self) -> bool:
        return bool(self.operations or self.fields or self.metrics)


class Step(Model):
    """One setup or read-back step: a profile operation run as a user, its value saved by name."""

    op: str
    """Logical operation, e.g. `points.add` (see the profile catalogue)."""
    user: Name | None = None
    """Session (or group of sessions) to act as, saved by a `register` step (or a step of any
    operation the profile marks `creates_session`). Default: none."""
    args: dict[str, Any] = Field(default_factory=dict)
    """Operation arguments; strings may be `${expr}` templates. Default: {}."""
    count: Count = 1
    """How many times to run the step (for a group: per member). Default: 1."""
    save: Name | None = None
    """Name to save the extracted value under in `state` (and the user's session); a list when
    the step runs more than once. A `register` step saves the new session(s). Default: none."""
    expect: Annotated[list[str], BeforeValidator(_listify), WithJsonSchema(_ONE_OR_LIST)] = Field(
        default_factory=lambda: ["ok"]
    )
    """Canonical outcome(s) the step must get, else the scenario errors. Default: ok."""
    optional: bool = False
    """Leave the step out when the profile does not map its operation (checks that need its
    value say what they need in `needs`). Default: false."""
    key: str | None = None
    """For a step run by a group: save a map `{key: value}` (one entry per member) instead of
    a list, e.g. `${member.name}` — the same key as `user` of the members' ops in checks — or
    `${member.username}`. Default: a list in member order."""


class PhaseOp(Model):
    """Operations fired together in the concurrent phase."""

    op: str
    """Logical operation, e.g. `points.deduct`."""
    user: Name | None = None
    """Session or group to act as; a group fires `count` operations per member. Leave it out
    for an operation the profile sends without credentials (`auth: false`). Default: none."""
    args: dict[str, Any] = Field(default_factory=dict)
    """Operation arguments; `${index}` is the 0-based repetition. Default: {}."""
    count: Count = 1
    """How many copies to fire (per member of a group). Default: 1."""
    optional: bool = False
    """Leave the operation out when the profile does not provide it (the phase runs with the
    others). Default: false."""


class Reader(Model):
    """A reader that polls during the phase; every read is recorded in the history."""

    op: str
    """Logical read operation, e.g. `points.balance`."""
    user: Name | None = None
    """Session to read as; none for an operation sent without credentials. Default: none."""
    args: dict[str, Any] = Field(default_factory=dict)
    """Operation arguments. Default: {}."""
    interval_ms: Annotated[float, Field(ge=0)] = 2.0
    """Pause between two reads, in milliseconds. Default: 2."""
    max_reads: Annotated[int, Field(gt=0)] = 500
    """Upper bound on reads per reader. Default: 500."""
    save: Name | None = None
    """Name to save the values of the successful reads under in `state` (a list, in read
    order), e.g. metric samples over a load. Default: none."""
    optional: bool = False
    """Leave the reader out when the profile does not map its operation. Default: false."""


class Load(Model):
    """Run the phase's operations as a load: each virtual user loops over them for a duration."""

    executor: Literal["constant-vus"] = "constant-vus"
    """Load executor (closed model). Default: constant-vus."""
    vus: Count
    """Number of virtual users, taken from the group named by the operations' `user`."""
    duration_s: Seconds
    """Duration of the load, in seconds."""
    window_s: Annotated[float, Field(gt=0)] = 5.0
    """Width of a throughput window in the saved `throughput` series, seconds. Default: 5."""
    processes: Annotated[int, Field(ge=1)] | Literal["auto"] = 1
    """Worker processes running the virtual users (a number, or `auto`: one per CPU soakmon
    may use, capped by its cgroup's CPU limit): the users are split exactly (never more
    workers than users), each worker sends its users' operations and sends every call back,
    so checks see the whole history. Operations that change a session's values (a sign-in)
    change them in the worker only. Default: 1 (in soakmon's process)."""
    fast_path: bool = True
    """Send the load's single requests through soakmon's lean HTTP/1.1 keep-alive transport
    (each virtual user its own connection) when they qualify: an `http://` target, no `HEAD`,
    shared connections (`soakmon run`'s default). Otherwise, and with false, through aiohttp.
    The saved `throughput` says which (`transport`). Default: true."""


class Phase(Model):
    """The concurrent phase: all operations fired together behind one barrier."""

    ops: Annotated[list[PhaseOp], Field(min_length=1)]
    """Operations to fire together."""
    readers: list[Reader] = Field(default_factory=list)
    """Readers polling while the operations run. Default: none."""
    idle_before_s: Seconds = 0.0
    """Idle pause before the phase starts, seconds (a burst after idle). Default: 0."""
    shuffle: bool = True
    """Fire in a seeded random order (reproducible with --seed). Default: true."""
    load: Load | None = None
    """Run as a sustained load instead of one batch. Default: one batch."""
    label: Name | None = None
    """Name of this phase's request statistics in `requests` (e.g. `after_burst`). Default: none."""
    sync: SyncName | None = None
    """How the phase's requests are delivered together: `last-byte` (HTTP/1.1: every request
    written but its final byte, then all final bytes in one pass), `single-packet` (HTTP/2:
    every request a stream, all final frames in one write), `auto` (single-packet when the
    target speaks HTTP/2, else last-byte) or `none` (each request sent as its task runs).
    Default: the scenario's `sync`, else `soakmon run --sync` (auto)."""


class CheckSpec(Model):
    """A check: a built-in checker with arguments, or a CEL expression that must be true."""

    name: str | None = None
    """Name shown in reports. Default: the checker name or the expression."""
    check: str | None = None
    """Built-in checker (see `soakmon schema suite`, `$defs`)."""
    args: dict[str, Any] = Field(default_factory=dict)
    """Arguments of the built-in checker. Default: {}."""
    cel: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] | None = None
    """A CEL expression over params, state, ops, requests, duration_s that must be true."""
    description: Text = ""
    """What the check guarantees, in words. Default: empty."""
    needs: Needs = Field(default_factory=Needs)
    """What the check needs from the target; unmet: the check is not applicable. Default: {}."""

    @model_validator(mode="after")
    def _one_kind(self) -> CheckSpec:
        if (self.check is None) == (self.cel is None):
            raise ValueError("give exactly one of `check` or `cel`")
        if self.cel is not None and self.args:
            raise ValueError("`args` belongs to built-in checks, not to `cel`")
        return self

    @property
    def display_name(self) -> str:
        return self.name or self.check or re.sub(r"\s+", " ", self.cel or "")


class Scenario(Model):
    """One concurrency scenario: setup, a concurrent phase, read-back, checks."""

    name: Slug
    """Scenario name, unique in the suite (shown in reports)."""
    spec: Text | None = None
    """Title of the specification scenario it implements. Default: none."""
    description: Text = ""
    """What it proves. Default: empty."""
    params: dict[Name, Param] = Field(default_factory=dict)
    """Overrides of the suite parameters for this scenario. Default: {}."""
    needs: Needs = Field(default_factory=Needs)
    """What the scenario needs beyond the operations its steps run (they are needs already);
    unmet: the scenario is not applicable, with the reason. Default: {}."""
    setup: list[Step] = Field(default_factory=list)
    """Steps run one after another before the phase. Default: none."""
    phases: Annotated[list[Phase], Field(min_length=1)]
    """Concurrent phases, run one after another."""
    readback: list[Step] = Field(default_factory=list)
    """Steps reading the state after the phases. Default: none."""
    settle_s: Seconds = 0.0
    """Pause between the last phase and the read-back, seconds: lets work the service finishes
    after answering (queues, write-behind caches) land before the state is judged. Default: 0."""
    checks: Annotated[list[CheckSpec], Field(min_length=1)]
    """Checks that must all hold."""
    timeout_s: Annotated[float, Field(gt=0)] = 120.0
    """Upper bound on the scenario's run time (each attempt's), seconds. Default: 120."""
    sync: SyncName | None = None
    """How the phases' requests are delivered together (see the phase's `sync`). Default:
    `soakmon run --sync` (auto)."""
    race: bool | None = None
    """Whether the concurrent batch phases are there to provoke a race (a race scenario: run in
    attempts, weak when sent wider apart than `max_spread_us`). `false` for a batch judged by
    what every request got — latency, errors, rejections (a burst, a mixed load): it runs once
    unless `attempts:` says otherwise and no spread bound applies unless `max_spread_us:` says
    one (the spread is still measured and reported). Default: true when the scenario has a
    concurrent batch phase, false when its phases are all sustained loads."""
    attempts: Count | None = None
    """How many times to run the scenario, each attempt with a fresh setup (new users), until a
    check fails (`soakmon run --attempts-all` runs them all and reports the rate): a race shows
    only when a run provokes it. Default: the run's `--attempts` (default 4) for a race
    scenario (see `race`), else 1."""
    max_spread_us: Annotated[float, Field(gt=0)] | Template | None = None
    """Largest send spread of a concurrent phase, microseconds (first to last final byte
    written): an attempt with a phase sent wider is *weak* — reported, re-run, never counted
    as held. Default: the run's `--max-spread-us` (1000) for a race scenario (see `race`),
    none otherwise."""
    server_errors: Literal["fail", "report"] = "fail"
    """What 5xx answers in the phases do: `fail` adds a failed `no_server_errors (automatic)`
    verdict when any occurred (a 500 is never a pass, even when the profile marks it unknown);
    `report` only counts them in the result (chaos scenarios that expect some). Either way the
    count per status is in the report. Default: fail."""


class OperationDecl(Model):
    """An operation a custom suite needs, beyond the built-in catalogue (`soakmon schema ops`)."""

    description: Text = ""
    """What the operation does, in the suite's domain words. Default: empty."""
    args: list[Name] = Field(default_factory=list)
    """Arguments the suite passes (validated against every step and phase op). Default: none."""
    result: list[str] = Field(default_factory=list)
    """Fields of the extracted value the suite's checks rely on (documentation of what the
    profile's `extract` must produce, e.g. `favorited`). Default: none."""


class Suite(Model):
    """A suite file: parameters with defaults and a list of scenarios."""

    name: Slug
    """Suite name (shown in reports)."""
    description: Text = ""
    """What the suite covers. Default: empty."""
    params: dict[Name, Param] = Field(default_factory=dict)
    """Parameters with their defaults, referenced as `${params.NAME}`; override them per
    scenario or with `--param NAME=VALUE`. Default: {}."""
    scenarios: Annotated[list[Scenario], Field(min_length=1)]
    """The scenarios, run in order."""
    operations: dict[str, OperationDecl] = Field(default_factory=dict)
    """Operations of your own domain this suite uses (name -> arguments and result fields),
    beside the built-in ones. A profile that does not define one makes the scenarios using it
    not applicable (skipped with the reason). Default: {}."""

    @model_validator(mode="after")
    def _unique_names(self) -> Suite:
        seen: set[str] = set()
        for scenario in self.scenarios:
            if scenario.name in seen:
                raise ValueError(f"scenario name {scenario.name!r} is used twice")
            seen.add(scenario.name)
        return self
