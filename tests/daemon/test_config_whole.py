"""A daemon config is validated whole before anything runs: every name it refers to resolves
(suites, scenario filters, parameters, profiles, soak operations, probe kinds and fields,
targets). ``soakmon validate`` prints ``file:line: field: message``; ``soakmon daemon`` exits 2
with the same messages and builds no loop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import monitor.daemon.app
from monitor.cli.app import _register, app
from monitor.daemon.config import load_config
from monitor.suites.errors import ConfigError

GOOD = """\
targets:
  staging:
    url: http://127.0.0.1:8080
    profile: reference
suites:
  - suite: points
    target: staging
    schedule: {every: 5m}
    scenarios: [concurrent-points-deduction]
    params: {balance: 500}
soak:
  - name: users
    target: staging
    vus: 2
    operations: [{op: points.balance}, {op: tasks.list}]
bursts:
  - {name: spike, target: staging, size: 5, schedule: {every: 10m}}
probes:
  - {name: self, kind: self}
  - {name: pool, kind: scrape, target: staging, url: "http://127.0.0.1:8080/metrics"}
"""

BROKEN = [
    pytest.param(
        ("suite: points", "suite: pointz"),
        ":6: suites[0].suite: unknown suite 'pointz' (built-in: ",
        id="unknown-suite",
    ),
    pytest.param(
        ("[concurrent-points-deduction]", "[concurrent-points-deductoin]"),
        ":9: suites[0].scenarios[0]: suite 'points' has no scenario 'concurrent-points-deductoin'",
        id="unknown-scenario-filter",
    ),
    pytest.param(
        ("{balance: 500}", "{balanse: 500}"),
        ":10: suites[0].params.balanse: suite 'points' declares no parameter 'balanse'",
        id="unknown-param",
    ),
    pytest.param(
        ("profile: reference", "profile: referense"),
        ":4: targets.staging.profile: unknown profile 'referense' (built-in: ",
        id="unknown-profile",
    ),
    pytest.param(
        ("{op: tasks.list}", "{op: tasks.lst}"),
        ":15: soak[0].operations[1].op: profile 'reference' does not map operation 'tasks.lst'",
        id="soak-operation-not-mapped",
    ),
    pytest.param(
        ("kind: self}", "kind: selff}"),
        ":19: probes[0].kind: unknown probe kind 'selff' (valid: kubernetes, process, promql, "
        "scrape, self",
        id="unknown-probe-kind",
    ),
    pytest.param(
        ('url: "http://127.0.0.1:8080/metrics"', 'uri: "http://127.0.0.1:8080/metrics"'),
        ":20: probes[1].uri: unknown key (did you mean 'url'?): a scrape probe takes url, series",
        id="probe-field-unknown",
    ),
    pytest.param(
        ("{name: spike, target: staging", "{name: spike, target: prod"),
        ":17: bursts[0].target: unknown target 'prod' (targets: staging)",
        id="burst-on-unknown-target",
    ),
]


def _write(tmp_path: Path, change: tuple[str, str] | None = None) -> Path:
    text = GOOD if change is None else GOOD.replace(*change)
    assert change is None or text != GOOD, change
    path = tmp_path / "daemon.yaml"
    path.write_text(text)
    return path


def test_the_good_config_resolves(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path))
    assert [p.kind for p in cfg.probes] == ["self", "scrape"]
    assert cfg.probes[1].options == {"url": "http://127.0.0.1:8080/metrics"}


@pytest.mark.parametrize(("change", "expected"), BROKEN)
def test_validate_and_daemon_reject_each_unresolved_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: tuple[str, str], expected: str
) -> None:
    path = _write(tmp_path, change)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert f"{path}{expected}" in str(err.value)

    _register()
    runner = CliRunner()
    out = runner.invoke(app, ["validate", str(path)])
    assert out.exit_code == 2
    assert f"{path}{expected}" in out.stderr
    assert "ok (daemon config)" not in out.stdout

    built: list[Any] = []
    monkeypatch.setattr(monitor.daemon.app.Daemon, "__post_init__", built.append)
    out = runner.invoke(app, ["daemon", "-c", str(path), "--port", "0"])
    assert out.exit_code == 2
    assert f"{path}{expected}" in out.stderr
    assert built == [], "no daemon (and so no loop) may be built from an invalid config"


def test_a_broken_suite_file_is_reported_with_its_own_lines(tmp_path: Path) -> None:
    suite = tmp_path / "mine.yaml"
    suite.write_text("name: mine\nscenarios: []\nbogus: 1\n")
    path = _write(tmp_path, ("suite: points", f"suite: {suite}"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert f"{path}:6: suites[0].suite: suite '{suite}' is invalid" in text
    assert "mine.yaml:3: bogus: unknown key" in text
