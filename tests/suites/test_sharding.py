"""``--shard I/N``: disjoint, complete, balanced, stable shares of the selected scenarios."""

from __future__ import annotations

import subprocess
import sys

import pytest

from monitor.suites.loading.loader import load_suite, resolve_suite
from monitor.suites.loading.paths import builtin_suites
from monitor.suites.loading.sharding import Shard, scenario_keys, take_shard

CLI = [sys.executable, "-c", "from monitor.cli.app import main; main()"]


def _all() -> list:
    return [load_suite(resolve_suite(name)) for name in builtin_suites()]


@pytest.mark.parametrize("count", [1, 2, 3, 5, 64])
def test_shards_partition_the_scenarios(count: int) -> None:
    suites = _all()
    every = scenario_keys(suites)
    shares = [scenario_keys(take_shard(suites, Shard(i, count))) for i in range(count)]
    assert sorted(k for share in shares for k in share) == every  # complete, no duplicates
    sizes = [len(share) for share in shares]
    assert max(sizes) - min(sizes) <= 1  # balanced


def test_a_shard_is_the_same_whatever_the_suite_order() -> None:
    suites = _all()
    forward = scenario_keys(take_shard(suites, Shard(1, 3)))
    backward = scenario_keys(take_shard(list(reversed(suites)), Shard(1, 3)))
    assert forward == backward


@pytest.mark.parametrize(
    ("text", "message"),
    [("1", "I/N"), ("2/2", "between 0 and 1"), ("0/0", "at least 1"), ("-1/2", "I/N")],
)
def test_bad_shard_specs_are_named(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Shard.parse(text)


def test_cli_rejects_a_bad_shard_with_exit_2() -> None:
    proc = subprocess.run(
        [*CLI, "run", "points", "--target", "http://127.0.0.1:9", "--shard", "3/2"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "--shard 3/2: I must be between 0 and 1" in proc.stderr
