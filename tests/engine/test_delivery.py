"""PhaseDelivery and SyncMode: the data every report of a phase's start spread reads."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from monitor.engine import PhaseDelivery, SyncMode
from monitor.engine.sync import spread_s


def test_sync_mode_parse_accepts_spellings_and_names_choices() -> None:
    assert SyncMode.parse("last_byte") is SyncMode.LAST_BYTE
    assert SyncMode.parse(" Single-Packet ") is SyncMode.SINGLE_PACKET
    with pytest.raises(ValueError, match="last-byte, single-packet, none, auto"):
        SyncMode.parse("fast")


def test_spread_is_max_minus_min_in_seconds() -> None:
    assert spread_s([5_000, 1_000, 3_000]) == pytest.approx(4e-6)
    assert spread_s([7]) is None


def test_start_spread_prefers_what_the_target_observed() -> None:
    sent = PhaseDelivery("last-byte", 20, send_spread_s=40e-6, released=20, connections=20)
    assert sent.start_spread_s == 40e-6
    seen = PhaseDelivery("last-byte", 20, send_spread_s=40e-6, arrival_spread_s=90e-6)
    assert seen.start_spread_s == 90e-6
    assert seen.to_dict()["start_spread_s"] == 9e-05


def test_the_release_pass_priority_is_given_back() -> None:
    from monitor.engine.sync.priority import pass_priority

    before = os.sched_getscheduler(0), os.sched_getparam(0).sched_priority
    with pass_priority() as raised:
        if raised:  # allowed here (CAP_SYS_NICE): real-time for the pass only
            assert os.sched_getscheduler(0) == os.SCHED_FIFO
    assert (os.sched_getscheduler(0), os.sched_getparam(0).sched_priority) == before


def _cpu_latency_target() -> int:
    from monitor.engine.sync.priority import QOS_DEVICE

    with open(QOS_DEVICE, "rb") as device:  # the kernel's current target, an int32 in µs
        return int(struct.unpack("i", device.read(4))[0])


def test_the_cpus_are_kept_awake_for_the_pass_only() -> None:
    from monitor.engine.sync.priority import QOS_DEVICE, cpus_awake

    if not os.access(QOS_DEVICE, os.R_OK | os.W_OK):
        pytest.skip(f"{QOS_DEVICE} is open to root only (the pass then runs without it)")
    before = _cpu_latency_target()
    with cpus_awake() as held:
        assert held
        assert _cpu_latency_target() == 0  # idle CPUs poll: no halt to leave at the pass
    assert _cpu_latency_target() == before


def test_without_the_device_the_pass_runs_as_before(tmp_path: Path) -> None:
    from monitor.engine.sync.priority import cpus_awake

    with cpus_awake(str(tmp_path / "no-such-device")) as held:
        assert held is False
