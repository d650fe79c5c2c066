"""Resource probes (``probes:``): a registered kind each, with the kind's own fields."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from monitor.daemon.config.fields import DaemonModel, Name, PositiveDuration
from monitor.registry import kinds_schema


def _probe_kinds_schema(schema: dict[str, Any]) -> None:
    """The JSON Schema of a probe entry: each registered kind's own fields, by ``kind``."""
    from monitor.observe.probes.registry import PROBE_KINDS

    kinds_schema(schema, PROBE_KINDS)


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
