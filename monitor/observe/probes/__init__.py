"""Resource probes: each reads a few named numbers from somewhere (a process, a target's
``/metrics``, Prometheus, the Kubernetes metrics API). A failing probe raises :class:`ProbeError`
with the cause; the daemon records it and keeps going."""

from monitor.observe.probes.base import Probe, ProbeError, Reading
from monitor.observe.probes.kube import KubernetesPodMemoryProbe, MetricsApiSource, PodMetricsSource
from monitor.observe.probes.process import ProcessMemoryProbe, SelfMemoryProbe
from monitor.observe.probes.promql import PromQLProbe
from monitor.observe.probes.scrape import TargetMetricsProbe

__all__ = [
    "KubernetesPodMemoryProbe",
    "MetricsApiSource",
    "PodMetricsSource",
    "Probe",
    "ProbeError",
    "ProcessMemoryProbe",
    "PromQLProbe",
    "Reading",
    "SelfMemoryProbe",
    "TargetMetricsProbe",
]
