"""A broken daemon config fails before anything runs, naming file, line and field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from monitor.daemon.config import load_config
from monitor.suites.errors import ConfigError

GOOD = """\
targets:
  staging:
    url: http://127.0.0.1:8080
    credentials: {token_env: STAGING_TOKEN}
suites:
  - suite: points
    target: staging
    schedule: {cron: "*/5 * * * *", jitter: 30s}
    timeout: 5m
soak:
  - {name: steady, target: staging, vus: 5, requests: [{path: /healthz}]}
bursts:
  - {name: spike, target: staging, size: 20, schedule: {every: 10m}}
probes:
  - {name: pool, kind: scrape, target: staging, url: "http://127.0.0.1:8080/metrics"}
"""


def test_a_complete_config_loads_with_units_parsed(tmp_path: Path) -> None:
    path = tmp_path / "daemon.yaml"
    path.write_text(GOOD)
    cfg = load_config(path)
    assert cfg.suites[0].timeout == 300
    assert cfg.suites[0].schedule.jitter == 30
    assert cfg.bursts[0].schedule.every == 600
    assert cfg.slo.p95_ms == 500
    assert cfg.suites[0].sync == "auto"
    assert cfg.targets["staging"].h2c is False
    assert cfg.slo.error_rate == 0.05


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            GOOD.replace("every: 10m", "every: 10x"),
            ":13: bursts[0].schedule.every: invalid duration",
        ),
        (
            GOOD.replace('"*/5 * * * *"', '"61 * * * *"'),
            ":8: suites[0].schedule: invalid cron expression",
        ),
        (GOOD.replace("vus: 5", "vus: 5, rate: 3"), ":11: soak[0]: give `vus`"),
        (GOOD.replace('url: "http://127.0.0.1:8080/metrics"', "every: 1s"), "probes[0]"),
        (GOOD.replace("size: 20", "sise: 20"), "bursts[0].sise: unknown key (did you mean 'size'"),
        (GOOD.replace("target: staging\n    schedule", "target: prod\n    schedule"), "prod"),
        (
            GOOD.replace("    timeout: 5m", "    timeout: 5m\n    sync: tight"),
            ":10: suites[0].sync:",
        ),
        (
            GOOD.replace("{token_env: STAGING_TOKEN}", "{token_env: T}\n    ca_file: /no/ca.pem"),
            ":5: targets.staging.ca_file: cannot use /no/ca.pem: No such file or directory",
        ),
    ],
)
def test_broken_configs_name_the_line_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "daemon.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert expected in str(err.value)
    assert str(path) in str(err.value)


def test_the_command_exits_2_with_the_message_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "daemon.yaml"
    path.write_text(GOOD.replace("size: 20", "size: -1"))
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from monitor.cli.app import main; main()",
            "daemon",
            "-c",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert out.returncode == 2
    assert "bursts[0].size: must be > 0" in out.stderr
    assert "Traceback" not in out.stderr


def test_the_documented_example_config_is_valid_and_validate_knows_daemon_configs(
    tmp_path: Path,
) -> None:
    root = Path(__file__).resolve().parents[2]
    example = root / "deploy" / "daemon.example.yaml"
    readme = (root / "README.md").read_text()
    assert example.read_text().strip() in readme, "README and deploy/ example differ"
    cfg = load_config(example)
    assert {p.kind for p in cfg.probes} == {"self", "scrape", "kubernetes", "promql"}
    bad = tmp_path / "daemon.yaml"
    bad.write_text(example.read_text().replace("size: 20", "size: 0"))
    cli = [sys.executable, "-c", "from monitor.cli.app import main; main()", "validate"]
    good = subprocess.run([*cli, str(example)], capture_output=True, text=True, check=False)
    assert good.returncode == 0, good.stderr
    assert "ok (daemon config)" in good.stdout
    out = subprocess.run([*cli, str(bad)], capture_output=True, text=True, check=False)
    assert out.returncode == 2
    assert "bursts[0].size: must be > 0" in out.stderr
