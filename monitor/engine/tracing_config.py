"""How a process traces (:class:`TracingConfig`): the OTLP/HTTP endpoint, the resource and the
OpenTelemetry SDK's standard settings, read from an environment and sent as JSON to worker
processes, so they export, batch and sample as their parent does."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)

from monitor import __version__

if TYPE_CHECKING:
    from monitor.engine.tracing import ConfiguredTracerProvider

log = logging.getLogger("monitor.engine.tracing")


def resource_attributes(env: Mapping[str, str]) -> dict[str, str]:
    """Service name, version and Kubernetes pod attributes taken from ``env``."""
    attrs: dict[str, str] = {
        "service.name": env.get("OTEL_SERVICE_NAME", "soakmon"),
        "service.version": __version__,
    }
    for key, attr in (("POD_NAME", "k8s.pod.name"), ("POD_NAMESPACE", "k8s.namespace.name")):
        if env.get(key):
            attrs[attr] = env[key]
    for pair in env.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        if "=" in pair:
            k, v = pair.split("=", 1)
            attrs.setdefault(k.strip(), v.strip())
    return attrs


def resource_from_env(env: Mapping[str, str]) -> Resource:
    """The resource of :func:`resource_attributes`."""
    return Resource.create(resource_attributes(env))


#: The SDK's standard settings a worker process gets from its parent's config (not its own
#: environment): the batch processor's queue, batch and delay, the sampler, the export timeout.
SDK_SETTINGS = (
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
)
#: The SDK's defaults: a queue of 2048 spans, batches of 512, every 5 s; a 10 s export timeout.
DEFAULT_QUEUE, DEFAULT_BATCH, DEFAULT_DELAY_MS, DEFAULT_TIMEOUT_S = 2048, 512, 5000.0, 10.0
_SAMPLERS: dict[str, Callable[[float], Sampler]] = {
    "always_on": lambda _r: ALWAYS_ON,
    "always_off": lambda _r: ALWAYS_OFF,
    "traceidratio": TraceIdRatioBased,
    "parentbased_always_on": lambda _r: ParentBased(ALWAYS_ON),
    "parentbased_always_off": lambda _r: ParentBased(ALWAYS_OFF),
    "parentbased_traceidratio": lambda r: ParentBased(TraceIdRatioBased(r)),
}


@dataclass(frozen=True, slots=True)
class TracingConfig:
    """How a process traces: the OTLP/HTTP traces URL (None: spans are made, not exported),
    the resource attributes and the SDK's standard settings (:data:`SDK_SETTINGS`, as set in
    the environment it was read from). The exporter's headers and certificate it reads from
    the environment, which worker processes inherit."""

    endpoint: str | None
    attributes: Mapping[str, str | int] = field(default_factory=dict)
    settings: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TracingConfig:
        traces = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        endpoint = traces or (base.rstrip("/") + "/v1/traces" if base else None)
        settings = {k: env[k] for k in SDK_SETTINGS if env.get(k, "").strip()}
        return cls(endpoint, resource_attributes(env), settings)

    def to_wire(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "attributes": dict(self.attributes),
                "settings": dict(self.settings)}  # fmt: skip

    @classmethod
    def from_wire(cls, doc: Mapping[str, Any]) -> TracingConfig:
        return cls(doc.get("endpoint"), dict(doc.get("attributes") or {}),
                   dict(doc.get("settings") or {}))  # fmt: skip

    def provider(self, **extra: str | int) -> ConfiguredTracerProvider:
        """A tracer provider set up as this says (``extra``: more resource attributes)."""
        from monitor.engine.tracing import ConfiguredTracerProvider

        return ConfiguredTracerProvider(self, extra)

    def _number(self, key: str, default: float, *, low: float = 0.0) -> float:
        raw = self.settings.get(key)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not value >= low:  # NaN too
            log.warning("tracing: %s=%r is not a number >= %g; using %g", key, raw, low, default)
            return default
        return value

    @property
    def queue_size(self) -> int:
        return int(self._number("OTEL_BSP_MAX_QUEUE_SIZE", DEFAULT_QUEUE, low=1))

    @property
    def batch_size(self) -> int:
        return min(self.queue_size, int(self._number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                                                     DEFAULT_BATCH, low=1)))  # fmt: skip

    @property
    def schedule_delay_ms(self) -> float:
        return self._number("OTEL_BSP_SCHEDULE_DELAY", DEFAULT_DELAY_MS, low=1)

    @property
    def export_timeout_s(self) -> float:
        """Seconds, as the Python SDK reads ``OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT``."""
        key = ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT" if "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"
               in self.settings else "OTEL_EXPORTER_OTLP_TIMEOUT")  # fmt: skip
        return self._number(key, DEFAULT_TIMEOUT_S, low=0.001)

    def sampler(self) -> Sampler:
        """The SDK's sampler named by ``OTEL_TRACES_SAMPLER`` (default
        ``parentbased_always_on``) with ``OTEL_TRACES_SAMPLER_ARG`` as its ratio."""
        name = self.settings.get("OTEL_TRACES_SAMPLER", "parentbased_always_on").strip().lower()
        if name not in _SAMPLERS:
            log.warning("tracing: OTEL_TRACES_SAMPLER=%r is none of %s; using "
                        "parentbased_always_on", name, ", ".join(_SAMPLERS))  # fmt: skip
            name = "parentbased_always_on"
        ratio = 1.0
        if name.endswith("traceidratio"):
            ratio = self._number("OTEL_TRACES_SAMPLER_ARG", 1.0)
            if ratio > 1.0:
                log.warning("tracing: OTEL_TRACES_SAMPLER_ARG=%g is above 1; using 1", ratio)
                ratio = 1.0
        return _SAMPLERS[name](ratio)
