"""``processes: auto`` follows the container's CPU limit, not the node's CPU count."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.engine import workers


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"cpu.max": "max 100000\n"}, None),  # cgroup v2, no limit
        ({"cpu.max": "150000 100000\n"}, 1.5),  # resources.limits.cpu: 1500m
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),  # v1
        ({"cpu/cpu.cfs_quota_us": "200000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 2.0),
        ({}, None),  # no cgroup file system
    ],
)
def test_the_cgroup_cpu_limit_is_read(
    tmp_path: Path, files: dict[str, str], expected: float | None
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert workers.cgroup_cpus(tmp_path) == expected


def test_auto_is_capped_by_the_limit_rounded_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: set(range(16)))
    monkeypatch.setattr(workers, "cgroup_cpus", lambda: 1.5)
    assert workers.auto_processes() == 2
    monkeypatch.setattr(workers, "cgroup_cpus", lambda: 0.25)
    assert workers.auto_processes() == 1
    monkeypatch.setattr(workers, "cgroup_cpus", lambda: None)
    assert workers.auto_processes() == 16
