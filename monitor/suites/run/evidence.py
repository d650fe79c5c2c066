"""What of an answer is kept as evidence and shown in messages: bounded excerpts of JSON and
text bodies, and the target's own words on a non-ok answer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from monitor.suites.profile.models import HttpOperation
from monitor.suites.profile.outcomes import search

#: Longest response excerpt kept per op as evidence, in characters.
MAX_EXCERPT = 400


def excerpt(op: HttpOperation, ok: bool, body: Any) -> str | None:
    """The part of a response shown as evidence: the operation's ``evidence`` JMESPath when it
    has one (for every answer; a non-ok answer it finds nothing in is shown whole), else the
    whole body of a non-ok answer; compact JSON, bounded."""
    chosen = search(op.evidence, body) if op.evidence is not None else None
    if chosen is not None:
        body = chosen
    elif ok or body is None:
        return None
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)
    return text if len(text) <= MAX_EXCERPT else text[: MAX_EXCERPT - 1] + "…"


def text_excerpt(raw: bytes) -> str | None:
    """A body that is not JSON (a plain-text 500 traceback, an HTML error page), bounded: its
    head and, when longer, its last lines — where a traceback names what went wrong."""
    text = raw.decode("utf-8", "replace").strip()
    if not text:
        return None
    if len(text) <= MAX_EXCERPT:
        return text
    head = MAX_EXCERPT // 3
    return text[:head].rstrip() + " … " + text[-(MAX_EXCERPT - head - 3) :].lstrip()


def last_line(raw: bytes) -> str | None:
    """The last non-empty line of a text body (a traceback's exception), for messages."""
    lines = [line.strip() for line in raw.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1][:200] if lines else None


def detail(body: Any) -> str | None:
    """A short human message from an error body (``message``, ``error`` or ``detail``), else
    the body itself as compact JSON (``{"errors": {"slug": ["has already been taken"]}}``)."""
    if isinstance(body, Mapping):
        for key in ("message", "msg", "error", "detail", "title", "errorMessage"):
            text = body.get(key)
            if isinstance(text, str) and text:
                return text[:200]
    if body is None:
        return None
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)
    return text if len(text) <= 200 else text[:199] + "…"
