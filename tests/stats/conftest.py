"""Detection statistics run only when asked (``make stats`` = ``pytest tests/stats --stats``).

Options: ``--stats-runs N`` (runs per fault and database, default 20), ``--stats-window S`` (the
reference target's ``--race-window``, default 0: natural windows), ``--stats-json PATH``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stats.detection import Trial, table, tally

TRIALS: list[Trial] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("soakmon statistics")
    group.addoption("--stats", action="store_true", help="run the detection statistics")
    group.addoption("--stats-runs", type=int, default=20, help="runs per fault and database")
    group.addoption(
        "--stats-window", type=float, default=0.0, help="reference target --race-window (s)"
    )
    group.addoption("--stats-json", default="reports/stats.json", help="where to write results")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--stats", default=False):
        return
    skip = pytest.mark.skip(reason="detection statistics: run with `make stats`")
    for item in items:
        if item.path.parent == Path(__file__).parent:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def stats_runs(pytestconfig: pytest.Config) -> int:
    runs: int = pytestconfig.getoption("--stats-runs", default=20)
    return runs


@pytest.fixture(scope="session")
def stats_window(pytestconfig: pytest.Config) -> float:
    window: float = pytestconfig.getoption("--stats-window", default=0.0)
    return window


@pytest.fixture(scope="session", autouse=True)
def _report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if not TRIALS:
        return
    window = request.config.getoption("--stats-window", default=0.0)
    lines = table(tally(TRIALS), f"\ndetection per run, race window {window * 1000:g} ms:")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    assert reporter is not None
    assert capture is not None
    with capture.global_and_fixture_disabled():
        for line in lines:
            reporter.write_line(line)
    path = Path(request.config.getoption("--stats-json", default="reports/stats.json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "race_window_s": window,
                "trials": [t.__dict__ for t in TRIALS],
                "rates": [
                    {"row": t.row, "db": t.db, "runs": t.runs, **t.counts, "rate": t.rate}
                    for t in tally(TRIALS)
                ],
            },
            indent=2,
        )
    )
