"""The ``alerting`` section of the daemon config: where alerts go and how they are delivered.

Secrets (basic-auth password, bearer token) are never written in the file: they come from an
environment variable or a mounted file, are read when a request is made (a rotated secret is
picked up) and are never logged, exported or shown in ``repr``.
"""

from __future__ import annotations

import os
import ssl
import urllib.parse
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from monitor.alerts.model import DEFAULT_RUNBOOK_BASE, check_runbook_base
from monitor.engine.duration_fields import PositiveDuration
from monitor.errors import SoakmonError

LabelName = Annotated[str, Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")]


def _no_userinfo(value: Any) -> Any:
    if isinstance(value, str) and "@" in value.split("://", 1)[-1].split("/", 1)[0]:
        raise ValueError("credentials do not belong in the URL: use basic_auth or bearer_token")
    return value


HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s]+$"), AfterValidator(_no_userinfo)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Secret(_Model):
    """A secret read from an environment variable or a file (exactly one)."""

    env: str | None = None
    """Environment variable holding it. Default: none."""
    file: Path | None = None
    """File holding it (e.g. a mounted Secret); re-read at every use. Default: none."""

    @model_validator(mode="after")
    def _one(self) -> Secret:
        if (self.env is None) == (self.file is None):
            raise ValueError("give `env` or `file` (exactly one)")
        return self

    def read(self) -> str:
        """The secret now; ``SecretMissing`` names where it was looked for (never its value)."""
        if self.file is not None:
            try:
                value = self.file.read_text().strip()
            except OSError as exc:
                raise SecretMissingError(f"cannot read {self.file}: {exc.strerror}") from None
            if not value:
                raise SecretMissingError(f"{self.file} is empty")
            return value
        value = os.environ.get(self.env or "", "")
        if not value:
            raise SecretMissingError(f"environment variable {self.env} is not set")
        return value


class SecretMissingError(SoakmonError, RuntimeError):
    """A configured secret cannot be read (the message names the source, not the value)."""


class BasicAuth(_Model):
    """HTTP basic authentication."""

    username: str
    """User name."""
    password: Secret
    """Where the password comes from."""


class Tls(_Model):
    """TLS options for ``https://`` receivers."""

    ca_file: Path | None = None
    """CA bundle to verify the server with. Default: the system's."""
    cert_file: Path | None = None
    """Client certificate (mutual TLS). Default: none."""
    key_file: Path | None = None
    """Client key. Default: none."""
    insecure_skip_verify: bool = False
    """Do not verify the server certificate (testing only). Default: false."""

    @model_validator(mode="after")
    def _pair(self) -> Tls:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("give both `cert_file` and `key_file`, or neither")
        for name in ("ca_file", "cert_file", "key_file"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise ValueError(f"{name}: no such file: {path}")
        return self

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        if self.cert_file is not None:
            ctx.load_cert_chain(str(self.cert_file), str(self.key_file))
        if self.insecure_skip_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx


class _Receiver(_Model):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")] | None = None
    """Receiver name in metrics and messages (`NAME/HOST:PORT` per URL when an Alertmanager
    sink has several). Default: the sink kind and its position, e.g. `alertmanager-0`."""
    timeout: PositiveDuration = 10.0
    """Per-request timeout. Default: 10 s."""
    basic_auth: BasicAuth | None = None
    """Basic authentication. Default: none."""
    bearer_token: Secret | None = None
    """Bearer token (``Authorization: Bearer ...``). Default: none."""
    tls: Tls | None = None
    """TLS options. Default: system CAs, verified."""

    @model_validator(mode="after")
    def _one_auth(self) -> _Receiver:
        if self.basic_auth is not None and self.bearer_token is not None:
            raise ValueError("give `basic_auth` or `bearer_token`, not both")
        return self


class AlertmanagerSink(_Receiver):
    """Alertmanager's v2 API (``POST /api/v2/alerts``); every URL gets every alert (HA)."""

    kind: Literal["alertmanager"]
    urls: Annotated[list[HttpUrl], Field(min_length=1)]
    """Base URLs of the Alertmanagers (all peers of a cluster)."""


class WebhookSink(_Receiver):
    """Alertmanager's webhook payload (version 4) posted to any URL (chat relays, tests)."""

    kind: Literal["webhook"]
    url: HttpUrl
    """The URL to post to."""


def _sink_tag(value: Any) -> str | None:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return f"{kind}-sink" if isinstance(kind, str) else None


# Tags with a dash keep them out of the field paths in error messages (`sinks[0].urls`).
SinkConfig = Annotated[
    Annotated[AlertmanagerSink, Tag("alertmanager-sink")]
    | Annotated[WebhookSink, Tag("webhook-sink")],
    Discriminator(
        _sink_tag,
        custom_error_type="sink_kind",
        custom_error_message="`kind` must be one of: alertmanager, webhook",
    ),
]


class Backoff(_Model):
    """Retry pacing towards a receiver that fails: capped exponential, with jitter."""

    initial: PositiveDuration = 1.0
    """First retry delay. Default: 1 s."""
    max: PositiveDuration = 60.0
    """Longest delay. Default: 1m."""


class Severities(_Model):
    """The ``severity`` label of each kind of alert the daemon sends."""

    check: str = "page"
    """A failed check (an invariant). Default: page."""
    slo: str = "page"
    """A broken SLO verdict (error rate, p95). Default: page."""
    analysis: str = "ticket"
    """A failed soak analysis (memory, pool, throughput, burst). Default: ticket."""
    run_error: str = "ticket"
    """A suite run that crashed or timed out. Default: ticket."""


class AlertingConfig(_Model):
    """Alerts sent by the daemon itself (violations and verdicts, with evidence)."""

    sinks: list[SinkConfig] = Field(default_factory=list)
    """Where alerts go. Default: nowhere."""
    resend_interval: PositiveDuration = 60.0
    """Active alerts are sent again this often (keep well under Alertmanager's
    `resolve_timeout`, 5m by default). Default: 1m."""
    labels: dict[LabelName, str] = Field(default_factory=dict)
    """Extra labels on every alert (e.g. `env: staging`). Default: {}."""
    external_url: HttpUrl | None = None
    """The daemon's URL as people reach it, for `generatorURL` links to the status page.
    Default: the daemon's own listen address."""
    runbook_base_url: Annotated[str, AfterValidator(check_runbook_base)] = DEFAULT_RUNBOOK_BASE
    """Where you host soakmon's `docs/runbooks.md`: every alert's `runbook_url` is this plus
    `#ANCHOR` (one section per alert). An http(s) URL (e.g. your fork's
    `https://github.com/ORG/soakmon/blob/main/docs/runbooks.md` or a wiki page) or a relative
    path; no `#`, spaces or credentials. Use the same value as the rules'
    (`python -m monitor.alerts.rules --runbook-base-url`, the chart's `runbookBaseUrl`).
    Default: `docs/runbooks.md` (the path in soakmon's source tree, not a web address)."""
    resolve_on_shutdown: bool = False
    """On a clean shutdown, resolve every alert the daemon holds. Default: false (they expire
    on their own after `endsAt`, so a restart does not flap)."""
    queue_size: Annotated[int, Field(gt=0)] = 500
    """Alerts waiting per receiver; beyond it the oldest are dropped (and counted). Default:
    500."""
    backoff: Backoff = Field(default_factory=Backoff)
    """Retry pacing. Default: 1 s doubling up to 1m."""
    severity: Severities = Field(default_factory=Severities)
    """Severity label per kind of alert. Default: see fields."""
    evidence_lines: Annotated[int, Field(ge=0)] = 10
    """Evidence lines (contradicting operations and reads) in a description. Default: 10."""
    description_max_chars: Annotated[int, Field(ge=200)] = 4000
    """Longest description; longer ones are cut with a pointer to the status page. Default:
    4000."""

    @model_validator(mode="after")
    def _names(self) -> AlertingConfig:
        names = [receiver for sink in self.sinks for receiver in receiver_names(sink, self)]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"sinks: receiver names must be unique: {', '.join(dupes)}")
        if self.resend_interval < 1.0:
            raise ValueError("resend_interval must be at least 1 s")
        return self


def receiver_names(sink: SinkConfig, config: AlertingConfig) -> list[str]:
    """One name per receiver of ``sink`` (metric label ``receiver``): the sink's name (default
    ``KIND-INDEX``), followed by ``/HOST:PORT`` when an Alertmanager sink has several URLs."""
    base = sink.name or f"{sink.kind}-{config.sinks.index(sink)}"
    if isinstance(sink, AlertmanagerSink) and len(sink.urls) > 1:
        return [f"{base}/{urllib.parse.urlsplit(url).netloc}" for url in sink.urls]
    return [base]
