"""Typed models of API profiles (``scenarios/profiles/*.yaml``).

A profile maps each logical operation to an HTTP request (method, path, query, body, headers,
auth), says how to extract the canonical value (JMESPath) and how to turn a response into a
canonical outcome (by status and/or JMESPath on the body). An operation may also be a short
sequence of other operations.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from monitor.suites.suite.models import Param


class ProfileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


StatusMatch = int | list[int] | Annotated[str, Field(pattern=r"^[1-5]xx$")]


class OutcomeRule(ProfileModel):
    """Maps a response to a canonical outcome; the first matching rule wins."""

    status: StatusMatch | None = None
    """HTTP status(es) matched: `409`, `[409, 412]` or `4xx`. Default: any status."""
    when: str | None = None
    """JMESPath over the JSON body; matches when truthy, e.g. ``code != `0` ``. Default: always."""
    outcome: str | None = None
    """Canonical outcome to report, e.g. `insufficient_points`."""
    outcome_from: str | None = None
    """JMESPath whose value names the outcome, e.g. `error`; see `map`."""
    map: dict[str, str] = Field(default_factory=dict)
    """Translation of `outcome_from` values to canonical outcomes (`"40901": insufficient_points`).
    Values not listed are used as they are. Default: {}."""
    unknown: bool = False
    """The response does not tell whether the change was committed: the op is UNKNOWN."""
    server_error: bool | None = None
    """The answer is a server error, whatever its HTTP status: an HTTP 200 with `{"code": 500}`
    counts like a 5xx (the automatic no-server-errors verdict, `server_errors` counts, outcome
    counts and metrics). Default: true when `outcome` is `server_error`, else false (an HTTP
    5xx is a server error whatever rule matched it)."""

    @model_validator(mode="after")
    def _has_outcome(self) -> OutcomeRule:
        if self.outcome is None and self.outcome_from is None:
            raise ValueError("give `outcome` or `outcome_from`")
        if self.status is None and self.when is None:
            raise ValueError("give `status` and/or `when`")
        return self


class Auth(ProfileModel):
    """How a session's credentials are sent."""

    header: str = "Authorization"
    """Request header carrying the credentials. Default: Authorization."""
    value: str = "Bearer ${session.token}"
    """Header value template over the session. Default: `Bearer ${session.token}`."""
    public: list[str] = Field(default_factory=list)
    """Session values `value` uses that are not secrets and may be shown in `state` and the
    reports (the user name of HTTP Basic auth: `[username]`); the others stay hidden.
    Default: []."""


class HttpOperation(ProfileModel):
    """A logical operation implemented by one HTTP request."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
    """HTTP method."""
    path: str
    """Path template relative to the target (`/tasks/{task_id}`)."""
    query: dict[str, Any] = Field(default_factory=dict)
    """Query parameters (templates); a parameter rendering to null is left out. Default: {}."""
    body: Any = None
    """JSON body template; object keys rendering to null are left out. Default: no body."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra headers (templates); a header rendering empty is left out. Default: {}."""
    auth: bool = True
    """Send the session's credentials. Default: true."""
    format: Literal["json", "prometheus"] = "json"
    """Response body format; `prometheus` parses text exposition to {metric: value}."""
    extract: str | None = None
    """JMESPath producing the canonical value from the body. Default: the whole body."""
    session: dict[str, str] = Field(default_factory=dict)
    """Session values to save from the body (JMESPath), e.g. `token: token`. Default: {}."""
    session_cookies: dict[str, str] = Field(default_factory=dict)
    """Session values to save from the cookies the answer sets (`Set-Cookie`), by cookie name,
    e.g. `token: sid` for a session cookie sent back with `auth: {header: Cookie, value:
    "sid=${session.token}"}`. Default: {}."""
    outcomes: list[OutcomeRule] = Field(default_factory=list)
    """Outcome rules tried before the profile-wide ones. Default: none."""
    evidence: str | None = None
    """JMESPath choosing the response fields shown as evidence when a check fails, for every
    answer (ok ones too: a phantom success is an ok answer), e.g.
    `article.{slug: slug, favorited: favorited, favoritesCount: favoritesCount}`.
    Default: the whole body (bounded) of answers that are not ok."""
    timeout_s: Annotated[float, Field(gt=0)] | None = None
    """Per-request timeout of this operation, seconds. Default: the profile's, else the run's."""
    creates_session: bool | None = None
    """The operation creates a user and the session other operations act as: a setup step
    `{op: NAME, save: alice}` makes user `alice` with it (its `session:` values are hers). Run
    in a phase by an existing user it races like any operation and leaves her session alone
    (a race of identical sign-ups needs no duplicate operation). Default: true for `register`,
    false otherwise."""


class SequenceStep(ProfileModel):
    """One step of a sequence operation."""

    op: str
    """Operation of this profile to run."""
    args: dict[str, Any] = Field(default_factory=dict)
    """Arguments (templates over the caller's `args` and earlier steps' `steps`). Default: {}."""
    save: str | None = None
    """Name of this step's value in `steps` for later steps. Default: none."""


class SequenceOperation(ProfileModel):
    """A logical operation implemented as a short sequence of other operations."""

    steps: Annotated[list[SequenceStep], Field(min_length=1, max_length=8)]
    """Steps run in order; the first non-ok outcome ends the sequence with that outcome."""
    result: Any = None
    """Template of the value (over `args`, `steps`, `session`). Default: the last step's value."""
    creates_session: bool | None = None
    """As for a request: the sequence creates a user and her session. Default: true for
    `register`, false otherwise."""


def _operation_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "SequenceOperation" if "steps" in value else "HttpOperation"
    return "SequenceOperation" if isinstance(value, SequenceOperation) else "HttpOperation"


#: An operation is a sequence when it has `steps`, otherwise one HTTP request.
AnyOperation = Annotated[
    Annotated[HttpOperation, Tag("HttpOperation")]
    | Annotated[SequenceOperation, Tag("SequenceOperation")],
    Discriminator(_operation_kind),
]


class MetricSeries(ProfileModel):
    """Where a logical target metric lives in the target's Prometheus exposition."""

    series: str
    """Series name, any prefix, e.g. `myapp_db_pool_in_use`."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Label values a sample must carry (others are summed over). Default: any labels."""


class Provides(ProfileModel):
    """Overrides of what the profile is inferred to provide (see `soakmon schema ops`)."""

    operations: dict[str, bool] = Field(default_factory=dict)
    """`false` hides a mapped operation from scenarios (they become not applicable); `true`
    is implied by mapping it. Default: {}."""
    fields: dict[str, bool] = Field(default_factory=dict)
    """Result fields the service does not have (`tasks.version: false`); every field a
    scenario needs is assumed provided unless listed false. Default: {}."""


def series_of(value: str | MetricSeries) -> MetricSeries:
    """A ``metrics`` entry as ``MetricSeries`` (a bare string is the series name)."""
    return MetricSeries(series=value) if isinstance(value, str) else value


class Profile(ProfileModel):
    """An API profile: how each logical operation is spoken to one kind of service."""

    name: str
    """Profile name."""
    description: str = ""
    """What API it describes. Default: empty."""
    base_path: str = ""
    """Prefix for every path, e.g. `/api/v2`. Default: none."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Headers sent with every request. Default: {}."""
    auth: Auth = Field(default_factory=Auth)
    """How credentials are sent. Default: Bearer token from `session.token`."""
    timeout_s: Annotated[float, Field(gt=0)] | None = None
    """Per-request timeout for this API, seconds. Default: the run's (`--timeout`, 10 s)."""
    outcomes: list[OutcomeRule] = Field(default_factory=list)
    """Profile-wide outcome rules, tried after an operation's own. Default: none."""
    outcome_names: dict[str, str] = Field(default_factory=dict)
    """Outcome names of your own domain (name -> meaning), beside the canonical ones, e.g.
    `already_favorited: the article was already a favorite`. Names that rules give literally
    (`outcome:` or a `map` value) count as declared; a name that only arrives through
    `outcome_from` must be listed here before a suite may expect it. Default: {}."""
    operations: dict[str, AnyOperation]
    """Logical operation -> request or sequence. Operations left out make the scenarios that
    use them not applicable."""
    params: dict[str, Param] = Field(default_factory=dict)
    """The service's domain parameters, overriding the suites' defaults of the same name (the
    command line's `--param` still wins): `top3_price`, `gift_points`, `completion_bonus`,
    `reward_price`, ledger reason names, … A rule that is not one number is a range
    (`completion_bonus: {min: 10, max: 50}`: a bonus drawn at random) or a count per kind
    (`gift_items: {front_row: 2, backstage: 2}`). Default: {}."""
    provides: Provides = Field(default_factory=Provides)
    """What the service provides beyond what the mappings show. Default: inferred."""
    metrics: dict[str, str | MetricSeries] = Field(default_factory=dict)
    """Logical target metric -> series (a name, or `{series, labels}`), read by `target.metrics`
    (format `prometheus`), e.g. `db_pool_in_use: myapp_db_pool_in_use`. Checks needing an
    unmapped metric are not applicable. Default: {}."""
