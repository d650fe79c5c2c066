"""Alert sink kinds, one module each (each registers in ``monitor.alerts.registry.SINKS``)."""
