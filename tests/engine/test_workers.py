"""``processes: auto`` follows the container's CPU limit, not the node's CPU count."""

from __future__ import annotations

import asyncio
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


# -- the stdout protocol: lines of any length, read whole -------------------------------------


@pytest.mark.timeout(60)
async def test_a_worker_s_long_lines_arrive_whole_even_as_its_last_words() -> None:
    """A suite worker's results of 200-260 KB were cut short: ``readline`` drops a line over
    the reader's 64 KiB limit. Through the real protocol (a worker process, ``emit``,
    ``drive``), lines of 64 KiB + 1 to 3 MiB arrive whole, the last one written right before
    the worker exits, and a line that is no message does not stop the protocol."""
    sizes = [2**16 + 1, 260_000, 3 * 2**20]
    w = workers.Worker(0, {})
    await workers.drive(w, "tests.engine.line_worker", {"sizes": sizes, "final": 1_000_000})
    assert w.returncode == 0, w.stderr
    assert w.ready
    assert [len(i["blob"]) for i in w.intervals] == sizes
    assert w.final is not None
    assert w.final["blob"] == "y" * 1_000_000


async def test_read_line_gathers_a_long_line_and_names_one_beyond_the_bound() -> None:
    reader = asyncio.StreamReader(limit=16)
    reader.feed_data(b"short\n" + b"z" * 100 + b"\n" + b"tail")
    reader.feed_eof()
    assert await workers.read_line(reader) == b"short\n"
    assert await workers.read_line(reader) == b"z" * 100 + b"\n"
    assert await workers.read_line(reader) == b"tail"
    assert await workers.read_line(reader) == b""
    reader = asyncio.StreamReader(limit=16)
    reader.feed_data(b"z" * 200)
    with pytest.raises(workers.WorkerLineTooLong, match="longer than 64 bytes"):
        await workers.read_line(reader, most=64)
