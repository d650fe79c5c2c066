"""Detection statistics run only when asked (``make stats`` = ``pytest tests/stats --stats``).

Options: ``--stats-runs N`` (runs per fault and database, default 20), ``--stats-window S`` (the
reference target's ``--race-window``, default 0: natural windows), ``--stats-attempts N``,
``--stats-json PATH``; how soakmon delivers the races: ``--stats-sync MODE`` (its ``--sync``,
default auto), ``--stats-h2 h2c|tls`` (serve the target through a real HTTP/2 front, see
:mod:`tests.stats.fronts`) and ``--stats-front haproxy|haproxy-buffered|nginx``.
Over HTTP/2 the whole matrix:
``make stats STATS_ARGS="--stats-sync single-packet --stats-h2 tls"``.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from monitor.engine import SyncMode
from tests.plugins.tls import make_cert
from tests.stats.detection import Tally, Trial, table, tally
from tests.stats.fronts import FRONTS, H2_MODES, Delivery, check_front, label

TRIALS: list[Trial] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("soakmon statistics")
    group.addoption("--stats", action="store_true", help="run the detection statistics")
    group.addoption("--stats-runs", type=int, default=20, help="runs per fault and database")
    group.addoption(
        "--stats-window", type=float, default=0.0, help="reference target --race-window (s)"
    )
    group.addoption("--stats-json", default="reports/stats.json", help="where to write results")
    group.addoption(
        "--stats-attempts",
        type=int,
        default=None,
        help="attempts per run (default: soakmon's default; 1 measures the per-attempt rate)",
    )
    group.addoption(
        "--stats-sync",
        default="auto",
        choices=[m.value for m in SyncMode],
        help="how soakmon delivers concurrent phases (its --sync; default auto)",
    )
    group.addoption(
        "--stats-h2",
        default="none",
        choices=H2_MODES,
        help="serve the reference target through an HTTP/2 front: h2c or TLS with ALPN h2",
    )
    group.addoption(
        "--stats-front",
        default="haproxy",
        choices=FRONTS,
        help="the HTTP/2 server in front of the target (haproxy-buffered: each request sent on "
        "once complete; nginx: TLS only)",
    )


def pytest_configure(config: pytest.Config) -> None:
    try:
        check_front(
            config.getoption("--stats-h2", default="none"),
            config.getoption("--stats-front", default="haproxy"),
        )
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from exc


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--stats", default=False):
        return
    skip = pytest.mark.skip(reason="detection statistics: run with `make stats`")
    for item in items:
        if item.path.parent == Path(__file__).parent:
            item.add_marker(skip)


@dataclass(frozen=True)
class Settings:
    runs: int
    """Runs per fault (or clean target) and database."""
    window: float
    """The reference target's --race-window, seconds."""
    attempts: int | None
    """Attempts per run; None: soakmon's default."""
    delivery: Delivery
    """soakmon's --sync and the HTTP/2 front, if any."""


@pytest.fixture(scope="session")
def stats(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        runs=pytestconfig.getoption("--stats-runs", default=20),
        window=pytestconfig.getoption("--stats-window", default=0.0),
        attempts=pytestconfig.getoption("--stats-attempts", default=None),
        delivery=_delivery(pytestconfig, tmp_path_factory),
    )


def _delivery(config: pytest.Config, tmp: pytest.TempPathFactory) -> Delivery:
    h2 = config.getoption("--stats-h2", default="none")
    try:
        return Delivery(
            sync=SyncMode.parse(config.getoption("--stats-sync", default="auto")),
            h2=h2,
            front=config.getoption("--stats-front", default="haproxy"),
            cert=make_cert(tmp.mktemp("stats-tls")) if h2 == "tls" else None,
        )
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from exc


@pytest.fixture(scope="session", autouse=True)
def _report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if not TRIALS:
        return
    window = request.config.getoption("--stats-window", default=0.0)
    attempts = request.config.getoption("--stats-attempts", default=None)
    per = f"{attempts} attempt(s)" if attempts else "the default attempts"
    how = _delivery_label(request.config)
    title = f"\ndetection per run ({per}, {how}), race window {window * 1000:g} ms:"
    lines = table(tally(TRIALS), title)
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
                "attempts": attempts,
                "delivery": how,
                "trials": [t.__dict__ for t in TRIALS],
                "rates": [
                    {
                        "row": t.row,
                        "db": t.db,
                        "runs": t.runs,
                        **t.counts,
                        "rate": t.rate,
                        "attempts_mean": _mean([x.attempts for x in TRIALS if _same(x, t)]),
                        "send_spread_median_s": _median(
                            [x.send_spread_s for x in TRIALS if _same(x, t)]
                        ),
                        "arrival_spread_median_s": _median(
                            [x.arrival_spread_s for x in TRIALS if _same(x, t)]
                        ),
                    }
                    for t in tally(TRIALS)
                ],
            },
            indent=2,
        )
    )


def _delivery_label(config: pytest.Config) -> str:
    return label(
        config.getoption("--stats-sync", default="auto"),
        config.getoption("--stats-h2", default="none"),
        config.getoption("--stats-front", default="haproxy"),
    )


def _same(trial: Trial, t: Tally) -> bool:
    return (trial.row, trial.db) == (t.row, t.db)


def _mean(values: list[int]) -> float | None:
    return sum(values) / len(values) if values else None


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None
