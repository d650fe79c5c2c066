"""The daemon's configuration (``soakmon daemon --config PATH``): typed, validated at load time.

Durations are numbers of seconds or strings such as ``30s``, ``5m``, ``1h30m``. Secrets are never
written into the file: a target's token comes from an environment variable or a mounted file,
and is never logged or exported.

One module a section: ``targets``, ``suites``, ``traffic`` (soaks and bursts), ``probes``,
``verdicts`` (SLOs and analyses), ``chaos``; ``fields`` (what they are built of), ``model``
(the whole config) and ``loading``.
"""

from monitor.daemon.config.loading import (
    daemon_keys,
    is_daemon_config,
    load_config,
    looks_like_daemon_config,
)
from monitor.daemon.config.model import DaemonConfig, suite_keys

__all__ = [
    "DaemonConfig",
    "daemon_keys",
    "is_daemon_config",
    "load_config",
    "looks_like_daemon_config",
    "suite_keys",
]
