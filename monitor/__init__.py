"""soakmon: a continuous chaos and soak monitor for HTTP services."""

__version__ = "0.1.0"
