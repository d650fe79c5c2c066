"""Concurrent HTTP execution: testers, executors, results and percentiles."""
