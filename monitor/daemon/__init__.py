"""The long-running monitor: scheduler, lifecycle and HTTP endpoints."""
