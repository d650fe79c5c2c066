"""Executors are pure schedules: checked as functions of elapsed time, without sleeping."""

from __future__ import annotations

import itertools

import pytest

from monitor.engine import (
    EXECUTORS,
    Burst,
    ConstantArrivalRate,
    ConstantVUs,
    EngineConfigError,
    RampingArrivalRate,
    RampingVUs,
    Stage,
    build_executor,
    parse_duration,
)


def test_registry_holds_every_executor_and_builds_from_parameters() -> None:
    assert {
        "burst",
        "constant-vus",
        "constant-arrival-rate",
        "ramping",
        "ramping-vus",
        "ramping-arrival-rate",
    } <= set(EXECUTORS)
    assert build_executor("constant-vus", {"vus": 3, "duration": 2}) == ConstantVUs(3, 2)
    ramp = build_executor("ramping", {"stages": [(10, 50)], "unit": "rate"})
    assert isinstance(ramp, RampingArrivalRate)


def test_registry_rejects_unknown_names_and_parameters_clearly() -> None:
    with pytest.raises(EngineConfigError, match=r"unknown executor 'spike'.*constant-vus"):
        build_executor("spike")
    with pytest.raises(EngineConfigError, match=r"executor 'burst'.*unexpected keyword"):
        build_executor("burst", {"n": 3, "rate": 1})
    with pytest.raises(EngineConfigError, match="vus must be >= 1"):
        build_executor("constant-vus", {"vus": 0, "duration": 1})
    with pytest.raises(EngineConfigError, match="unit must be 'vus' or 'rate'"):
        build_executor("ramping", {"stages": [(1, 1)], "unit": "rps"})


def test_burst_is_everything_due_at_once() -> None:
    burst = Burst(25)
    assert [burst.start_offset(i) for i in (0, 24)] == [0.0, 0.0]
    assert burst.start_offset(25) is None
    assert burst.due_by(0.0) == 25
    assert burst.max_vus == burst.pre_allocated_vus == 25


def test_constant_vus_holds_its_count_for_the_duration() -> None:
    schedule = ConstantVUs(7, 2.5)
    assert [schedule.vus_at(t) for t in (0.0, 1.0, 2.49, 2.5, 10)] == [7, 7, 7, 0, 0]


def test_constant_arrival_rate_spaces_iterations_evenly() -> None:
    schedule = ConstantArrivalRate(100, 3)
    assert schedule.iterations == 300
    assert schedule.start_offset(0) == 0.0
    assert schedule.start_offset(150) == pytest.approx(1.5)
    assert schedule.start_offset(299) == pytest.approx(2.99)
    assert schedule.start_offset(300) is None
    assert schedule.due_by(0.0) == 1
    assert schedule.due_by(1.0) == 101
    assert schedule.due_by(99.0) == 300
    assert (schedule.pre_allocated_vus, schedule.max_vus) == (100, 100)
    assert ConstantArrivalRate(2.5, 2, max_vus=4).pre_allocated_vus == 4


def test_generic_due_by_matches_the_closed_form() -> None:
    schedule = ConstantArrivalRate(7, 10)
    generic = RampingArrivalRate((Stage(10, 7),), start_rate=7)
    for t in (0.0, 0.1, 1.0, 3.3, 9.99, 20.0):
        assert generic.due_by(t) == schedule.due_by(t), t


def test_ramping_vus_interpolates_between_stages() -> None:
    schedule = RampingVUs((Stage(10, 10), Stage(5, 10), Stage(10, 0)))
    assert schedule.duration == 25
    assert schedule.max_vus == 10
    assert [schedule.vus_at(t) for t in (0, 5, 10, 12, 20, 24.9, 25)] == [0, 5, 10, 10, 5, 0, 0]


def test_ramping_arrival_rate_integrates_the_rate() -> None:
    # 0 -> 10/s over 10 s: 50 iterations, iteration i due at sqrt(2 i) (N(t) = t^2 / 2).
    schedule = RampingArrivalRate(((10, 10), (5, 10)))
    assert schedule.start_offset(0) == 0.0
    assert schedule.start_offset(8) == pytest.approx(4.0)
    assert schedule.start_offset(32) == pytest.approx(8.0)
    # then 10/s flat: iteration 50 at 10 s, 99 at 14.9 s, 100 iterations in all.
    assert schedule.start_offset(50) == pytest.approx(10.0)
    assert schedule.start_offset(99) == pytest.approx(14.9)
    assert schedule.start_offset(100) is None
    assert schedule.due_by(15) == 100
    down = RampingArrivalRate(((10, 0),), start_rate=10)  # 50 iterations, slowing down
    offsets = [down.start_offset(i) for i in range(50)]
    assert all(o is not None for o in offsets)
    gaps = [b - a for a, b in itertools.pairwise(offsets)]  # type: ignore[operator]
    assert gaps == sorted(gaps)
    assert down.start_offset(50) is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("2m", 120), ("500ms", 0.5), ("1m30s", 90), ("1h", 3600), ("1.5", 1.5)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ten", "5 parsecs", "1x", "s", "-1s", "1s2"])
def test_bad_durations_name_the_value(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)
