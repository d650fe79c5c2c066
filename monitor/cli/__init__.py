"""The ``soakmon`` command line."""
