"""Chaos statistics run only when asked (``make chaos-stats`` = ``pytest tests/chaos_stats
--chaos-stats``): each experiment of the issue's "done when" repeated ``--chaos-runs`` times
(default 5) on loopback, a table printed and ``reports/chaos-stats.json`` written."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROWS: list[dict[str, Any]] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("soakmon chaos statistics")
    group.addoption("--chaos-stats", action="store_true", help="run the chaos statistics")
    group.addoption("--chaos-runs", type=int, default=5, help="runs per experiment")
    group.addoption("--chaos-json", default="reports/chaos-stats.json", help="results file")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--chaos-stats", default=False):
        return
    skip = pytest.mark.skip(reason="chaos statistics: run with `make chaos-stats`")
    for item in items:
        if item.path.parent == Path(__file__).parent:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def chaos_runs(pytestconfig: pytest.Config) -> int:
    return int(pytestconfig.getoption("--chaos-runs"))


@pytest.fixture(scope="session", autouse=True)
def _report(pytestconfig: pytest.Config) -> Iterator[None]:
    yield
    if not ROWS:
        return
    path = Path(pytestconfig.getoption("--chaos-json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    path.write_text(json.dumps({"loadavg": load, "rows": ROWS}, indent=1))
    lines = [f"\nchaos statistics (load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}):"]
    for row in ROWS:
        lines.append("  " + ", ".join(f"{k}={v}" for k, v in row.items()))
    print("\n".join(lines))
