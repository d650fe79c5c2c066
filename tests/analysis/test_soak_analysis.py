"""Soak analysis verdicts on synthetic series shaped like what a real soak produces."""

from __future__ import annotations

import random

import pytest

from monitor.analysis.burst import burst_recovery
from monitor.analysis.memory import MIB, memory_growth
from monitor.analysis.pool import PoolSample, pool_saturation
from monitor.analysis.slo import WindowStats, burn_rate, error_rate_slo, latency_slo
from monitor.analysis.throughput import throughput_stability
from monitor.analysis.window import RollingWindow


def _series(
    n: int, step_s: float, base: float, slope_per_s: float, noise: float, *, seed: int = 1
) -> tuple[list[float], list[float]]:
    rnd = random.Random(seed)
    times = [i * step_s for i in range(n)]
    values = [base + slope_per_s * t + rnd.gauss(0, noise) for t in times]
    return times, values


def test_a_leak_of_a_few_mib_per_minute_fires_within_a_compressed_soak() -> None:
    # 3 minutes of 5 s samples, leaking 2 MiB/min (= 120 MiB/h) under 3 MiB of GC noise.
    times, rss = _series(36, 5.0, 80 * MIB, 2 * MIB / 60, 3 * MIB)
    verdict = memory_growth(times, rss, max_mib_per_hour=50)
    assert verdict.conclusive
    assert not verdict.passed
    assert "MiB/h" in verdict.observed


def test_flat_memory_with_gc_sawtooth_and_outliers_does_not_fire() -> None:
    times, rss = _series(36, 5.0, 80 * MIB, 0.0, 3 * MIB)
    rss[10] += 60 * MIB  # one huge transient allocation
    rss[11] += 60 * MIB
    verdict = memory_growth(times, rss, max_mib_per_hour=50)
    assert verdict.passed
    assert verdict.conclusive


def test_memory_verdict_waits_for_enough_data() -> None:
    times, rss = _series(5, 5.0, 80 * MIB, 10 * MIB, 0)
    verdict = memory_growth(times, rss, max_mib_per_hour=1)
    assert verdict.passed
    assert not verdict.conclusive


def test_steadily_degrading_throughput_fires_and_jitter_does_not() -> None:
    rnd = random.Random(3)
    degrading = [200 - 6 * i + rnd.gauss(0, 4) for i in range(20)]
    assert not throughput_stability(degrading).passed
    stable = [200 + rnd.gauss(0, 15) for _ in range(20)]
    assert throughput_stability(stable).passed
    # A significant but tiny drift is not a material drop.
    drift = [200 - 0.5 * i for i in range(20)]
    assert throughput_stability(drift).passed


def test_pool_that_stays_saturated_is_exhausted_but_a_busy_moment_is_not() -> None:
    leaking = [PoolSample(10, min(10, i), max(0, i - 10)) for i in range(20)]
    verdict = pool_saturation(leaking)
    assert not verdict.passed
    assert "waiting" in verdict.observed
    healthy = [PoolSample(10, 2, 0)] * 18 + [PoolSample(10, 10, 3)] * 2
    assert pool_saturation(healthy).passed


def test_burst_recovery_judges_the_tail_after_the_spike() -> None:
    recovered = [(0.0, 900.0), (1.0, 400.0), (2.0, 20.0), (3.0, 18.0), (6.0, 19.0)]
    assert burst_recovery(15.0, recovered, within_s=5).passed
    stuck = [(0.0, 900.0), (1.0, 800.0), (3.0, 700.0), (6.0, 650.0)]
    verdict = burst_recovery(15.0, stuck, within_s=5)
    assert not verdict.passed
    assert "650" in verdict.observed
    relapse = [(0.0, 900.0), (1.0, 20.0), (3.0, 20.0), (6.0, 700.0)]
    assert not burst_recovery(15.0, relapse, within_s=5).passed
    assert not burst_recovery(None, recovered, within_s=5).conclusive


def test_slo_verdicts_and_burn_rate() -> None:
    assert error_rate_slo(WindowStats(1000, 49, 10)).passed
    assert not error_rate_slo(WindowStats(1000, 50, 10)).passed
    assert latency_slo(WindowStats(1000, 0, 499)).passed
    assert not latency_slo(WindowStats(1000, 0, 500)).passed
    assert not error_rate_slo(WindowStats(5, 5, 10)).conclusive
    assert burn_rate(0.10, 0.05) == pytest.approx(2.0)


def test_rolling_window_forgets_old_samples_and_stays_bounded() -> None:
    window = RollingWindow(horizon_s=60, max_samples=100)
    for i in range(10_000):
        window.add(i * 0.01, float(i))  # 100 s of samples at 100 Hz
    assert len(window) <= 100
    assert window.times()[0] >= 100 - 60 - 0.01
    assert 9900 < window.values()[-1] <= 9999.0  # the newest bucket averages its samples
    assert window.span_s() == pytest.approx(60, abs=1)
