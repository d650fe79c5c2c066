"""Alert sinks (Alertmanager)."""
