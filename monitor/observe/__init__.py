"""Prometheus metrics and resource probes (OpenTelemetry tracing is in the engine layer,
:mod:`monitor.engine.tracing`, where worker processes of every layer can set it up)."""
