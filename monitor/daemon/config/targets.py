"""The services the daemon monitors, and where a target's static token comes from. Secrets are
never written into the file: a token comes from an environment variable or a mounted file, and
is never logged or exported."""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator

from monitor.daemon.config.fields import DaemonModel, PositiveDuration


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
