"""Prometheus metrics, OpenTelemetry tracing and resource probes."""
