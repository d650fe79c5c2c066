"""Loading a daemon config whole, and telling one from a suite or a profile."""

from __future__ import annotations

import difflib
from pathlib import Path

from monitor.daemon.config.model import DaemonConfig
from monitor.suites.errors import ConfigError
from monitor.suites.loading.loader import load_model
from monitor.suites.loading.yamlsource import load_yaml


def load_config(path: Path) -> DaemonConfig:
    """Load and validate a daemon config whole: its fields, then every name it refers to
    (targets, suites, scenarios, parameters, profiles, soak operations, probe kinds).
    ``ConfigError`` lists every problem as ``file:line: field: message``."""
    from monitor.daemon.resolve import config_problems

    config, locs = load_model(path, DaemonConfig, "daemon config", str(path))
    problems = config_problems(config, locs)
    if problems:
        raise ConfigError(problems)
    return config


_SUITE_OR_PROFILE_KEYS = frozenset({"name", "description", "scenarios", "operations", "base_path",
                                    "auth", "outcomes", "outcome_names", "provides", "metrics",
                                    "headers", "timeout_s"})  # fmt: skip


def daemon_keys(data: object) -> list[str]:
    """Top-level keys of ``data`` that are (or nearly are, like ``target``) a daemon config's
    own and no suite's or profile's: ``targets``, ``soak``, ``probes``, ``slo`` ..."""
    if not isinstance(data, dict):
        return []
    own = set(DaemonConfig.model_fields) - _SUITE_OR_PROFILE_KEYS
    found = []
    for key in data:
        if not isinstance(key, str) or key in _SUITE_OR_PROFILE_KEYS:
            continue
        if key in own or difflib.get_close_matches(key, own, n=1, cutoff=0.8):
            found.append(key)
    return found


def looks_like_daemon_config(data: object) -> bool:
    """A mapping with ``targets``, or more keys of a daemon config than of a suite or profile
    (a daemon config whose ``targets`` was mistyped is still judged as one)."""
    if not isinstance(data, dict):
        return False
    if "targets" in data:
        return True
    theirs = [k for k in data if k in _SUITE_OR_PROFILE_KEYS]
    return len(daemon_keys(data)) > len(theirs)


def is_daemon_config(path: Path) -> bool:
    """Whether ``path`` holds a daemon config (see ``looks_like_daemon_config``)."""
    try:
        raw, _ = load_yaml(path, str(path))
    except ConfigError:
        return False
    return looks_like_daemon_config(raw)
