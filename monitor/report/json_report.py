"""The JSON report (``--json PATH``): design.md schema_version 1, written atomically.

Indented for people, except the bulky per-sample arrays (``timeline``, ``histogram``), which get
one compact object per line so that a report of 19 scenarios × 2,000 samples stays small.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from typing import Any

from monitor.report.registry import register
from monitor.suites.results import RunResult, to_json

_COMPACT_KEYS = ("timeline", "histogram")


def _finite(value: Any) -> Any:
    """JSON has no NaN/Infinity: replace them by null so every parser accepts the file."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _dumps(doc: dict[str, Any]) -> str:
    """Serialise a fresh report document (replaces its bulky arrays in place)."""
    nonce = secrets.token_hex(8)  # markers cannot collide with text coming from the target
    compact: list[str] = []
    for suite in doc.get("suites", []):
        for scenario in suite.get("scenarios", []):
            for key in _COMPACT_KEYS:
                for i, item in enumerate(scenario.get(key) or []):
                    scenario[key][i] = f"@@{nonce}-{len(compact)}@@"
                    compact.append(
                        json.dumps(item, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
                    )
    text = json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False)
    pattern = re.compile(f'"@@{nonce}-([0-9]+)@@"')
    return pattern.sub(lambda m: compact[int(m.group(1))], text) + "\n"


@register("json", "JSON report")
def render_json(run: RunResult) -> bytes:
    return _dumps(_finite(to_json(run))).encode("utf-8", "backslashreplace")
