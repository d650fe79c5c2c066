"""``kind: kubernetes`` — pod memory from the Kubernetes metrics API."""

from __future__ import annotations

from pydantic import Field

from monitor.observe.probes.base import Probe
from monitor.observe.probes.kube import KubernetesPodMemoryProbe, MetricsApiSource
from monitor.observe.probes.registry import ProbeSettings, probe_kind


class KubernetesSettings(ProbeSettings):
    namespace: str = Field(min_length=1)
    """Namespace of the pods."""
    selector: str = Field(min_length=1)
    """Pod label selector."""


@probe_kind("kubernetes", settings=KubernetesSettings)
def build(name: str, settings: KubernetesSettings) -> Probe:
    """Pod memory (metrics.k8s.io)."""
    return KubernetesPodMemoryProbe(name, settings.namespace, settings.selector, MetricsApiSource())
