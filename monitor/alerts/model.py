"""An alert and the two wire formats the sinks speak (pure, no I/O).

- Alertmanager API v2 (``POST /api/v2/alerts``): a JSON list of ``postableAlert``.
- Alertmanager's webhook payload, ``version: "4"`` (what Alertmanager itself posts to a
  ``webhook_config``), so chat relays written for Alertmanager accept soakmon directly.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_RUNBOOK_BASE = "docs/runbooks.md"
"""Where ``runbook_url`` points unless configured: the runbooks' path in soakmon's source tree
(the project publishes them nowhere; set ``alerting.runbook_base_url``, ``python -m
monitor.alerts.rules --runbook-base-url`` or the chart's ``runbookBaseUrl`` to where you host
``docs/runbooks.md``). Every alert gets ``BASE#ANCHOR``, one section per alert."""

_RUNBOOK_BASE = re.compile(r"^(https?://[^\s#/@]+(/[^\s#]*)?|[A-Za-z0-9._~-][A-Za-z0-9._~/-]*)$")


def check_runbook_base(value: str) -> str:
    """``value`` if it can be a runbook base: an http(s) URL or a relative path, without a
    fragment (``#ANCHOR`` is appended per alert), spaces or credentials."""
    if "#" in value:
        raise ValueError(f"{value!r}: no '#' (each alert appends #ANCHOR)")
    if "@" in value.split("://", 1)[-1].split("/", 1)[0]:
        raise ValueError(f"{value!r}: credentials do not belong in a link people click")
    if not _RUNBOOK_BASE.match(value):
        raise ValueError(f"{value!r}: give an http(s):// URL or a relative path, without spaces")
    return value


def runbook_url(base: str, anchor: str) -> str:
    """The ``runbook_url`` of one alert: ``BASE#ANCHOR``."""
    return f"{base}#{anchor}"


def iso(ts: float) -> str:
    """RFC 3339 with milliseconds, UTC."""
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts))
    return f"{whole}.{int(ts * 1000) % 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert as sent: identity is the label set (no timestamps or run ids in it)."""

    labels: Mapping[str, str]
    annotations: Mapping[str, str] = field(default_factory=dict)
    starts_at: float = 0.0
    ends_at: float = 0.0
    generator_url: str = ""

    @property
    def key(self) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(self.labels.items()))

    @property
    def fingerprint(self) -> str:
        raw = "\xff".join(f"{k}\xff{v}" for k, v in self.key)
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    def resolved_at(self, now: float) -> bool:
        return self.ends_at <= now


def to_v2(alert: Alert) -> dict[str, Any]:
    """An Alertmanager v2 ``postableAlert``."""
    body: dict[str, Any] = {
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "startsAt": iso(alert.starts_at),
        "endsAt": iso(alert.ends_at),
    }
    if alert.generator_url:
        body["generatorURL"] = alert.generator_url
    return body


def _common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = dict(maps[0])
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


def webhook_payload(
    alerts: Sequence[Alert], *, receiver: str, external_url: str, now: float
) -> dict[str, Any]:
    """Alertmanager's webhook payload, version 4, for one group of alerts."""
    items = [
        {
            "status": "resolved" if a.resolved_at(now) else "firing",
            "labels": dict(a.labels),
            "annotations": dict(a.annotations),
            "startsAt": iso(a.starts_at),
            "endsAt": iso(a.ends_at) if a.resolved_at(now) else "0001-01-01T00:00:00Z",
            "generatorURL": a.generator_url,
            "fingerprint": a.fingerprint,
        }
        for a in alerts
    ]
    common = _common([a.labels for a in alerts])
    group = {k: v for k, v in common.items() if k in ("alertname", "target", "suite")}
    firing = any(i["status"] == "firing" for i in items)
    return {
        "version": "4",
        "groupKey": "{}:" + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(group.items())) + "}",
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": receiver,
        "groupLabels": group,
        "commonLabels": common,
        "commonAnnotations": _common([a.annotations for a in alerts]),
        "externalURL": external_url,
        "alerts": items,
    }
