"""Built-in suites for tests, whole or cut down to some of their scenarios."""

from __future__ import annotations

from monitor.suites.loading.loader import LoadedSuite, load_suite
from monitor.suites.loading.paths import builtin_suites


def builtin(name: str, *scenarios: str) -> LoadedSuite:
    """The built-in suite ``name``; given ``scenarios``, only those (each must exist)."""
    loaded = load_suite(builtin_suites()[name])
    if not scenarios:
        return loaded
    kept = [s for s in loaded.suite.scenarios if s.name in scenarios]
    missing = set(scenarios) - {s.name for s in kept}
    assert not missing, f"suite {name} has no scenario {sorted(missing)}"
    return LoadedSuite(
        loaded.suite.model_copy(update={"scenarios": kept}), loaded.file, loaded.locations
    )
