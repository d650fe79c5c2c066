"""Plot geometry for the HTML report: pure functions from results to SVG coordinates.

The template only draws what these return: points of the latency-over-time scatter (errors —
server errors and requests without an answer — in red; refusals, 4xx answers that are often the
expected outcome of a race, in amber), bars of the latency histogram, axis ticks and reference
lines, all in SVG user units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from monitor.report.text import fmt_ms
from monitor.suites.results import HistogramBucket, TimelineSample

WIDTH, HEIGHT = 560, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 22, 12, 38


@dataclass(frozen=True, slots=True)
class Tick:
    pos: float  # SVG coordinate along the axis
    label: str


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float
    ok: bool
    title: str  # hover text (not-ok answers only; empty for successes to keep the file small)
    refused: bool = False  # a 4xx answer: not ok, but not an error either (drawn amber)

    @property
    def error(self) -> bool:
        """A server error or no answer (drawn red)."""
        return not self.ok and not self.refused


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    title: str


@dataclass(frozen=True, slots=True)
class HLine:
    y: float
    label: str


@dataclass(slots=True)
class Plot:
    kind: str  # "timeline" | "histogram"
    x_label: str
    y_label: str
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    inner_w: int = WIDTH - LEFT - RIGHT
    inner_h: int = HEIGHT - TOP - BOTTOM
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    lines: list[HLine] = field(default_factory=list)

    @property
    def bottom(self) -> int:
        return self.top + self.inner_h

    @property
    def right(self) -> int:
        return self.left + self.inner_w

    @property
    def failures(self) -> int:
        """Errors: server errors and requests without an answer (refusals not counted)."""
        return sum(p.error for p in self.points)

    @property
    def refusals(self) -> int:
        """4xx answers (a refusal is often the expected outcome of a race)."""
        return sum(p.refused for p in self.points)


def nice_step(span: float, target: int = 5) -> float:
    """A round tick step (1, 2, 2.5 or 5 × 10ⁿ) giving about ``target`` intervals."""
    raw = max(span, 1e-9) / max(target, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * mag >= raw * (1 - 1e-9))


def nice_max(value: float, target: int = 5) -> float:
    """The smallest multiple of a nice step that is ≥ ``value`` (an axis end)."""
    if value <= 0:
        return 1.0
    step = nice_step(value, target)
    return math.ceil(value / step - 1e-9) * step


def _label(value: float, step: float | None = None) -> str:
    """A tick label with as many decimals as the tick step needs (0.0005 → 4)."""
    if step is None:
        return f"{value:,.3f}".rstrip("0").rstrip(".") if value else "0"
    decimals = 0
    while decimals < 6 and abs(step * 10**decimals - round(step * 10**decimals)) > 1e-9:
        decimals += 1
    return f"{value:,.{decimals}f}"


def _ticks(hi: float, lo: float = 0.0, target: int = 5) -> list[Tick]:
    """Tick values (``pos`` holds the value; callers map it to SVG coordinates)."""
    step = nice_step(hi - lo, target)
    first = math.ceil(lo / step - 1e-9) * step
    count = math.floor((hi - first) / step + 1e-9) + 1
    values = [first + i * step for i in range(max(count, 0))]
    return [Tick(v, _label(v, step)) for v in values]


def _refused(s: TimelineSample) -> bool:
    return not s.ok and s.status is not None and 400 <= s.status < 500


def _failure_title(s: TimelineSample) -> str:
    answer = f"HTTP {s.status}" if s.status is not None else "no response"
    return f"{s.operation} → {answer} after {fmt_ms(s.latency_ms)}, at {s.offset_s:.3f} s"


def timeline_plot(samples: Sequence[TimelineSample], p95_ms: float | None = None) -> Plot:
    """Latency (y) against time since the scenario's first request (x), one dot per sample."""
    plot = Plot("timeline", "time since first request (s)", "latency (ms)")
    if not samples:
        return plot
    span_s = max(s.offset_s for s in samples)
    unit = 1.0 if span_s >= 1.0 else 1000.0  # a burst that lasted 2 ms is plotted in ms
    if unit != 1.0:
        plot.x_label = "time since first request (ms)"
    x_hi = nice_max(span_s * unit or 1.0)
    y_hi = nice_max(max([s.latency_ms for s in samples] + [p95_ms or 0.0]))
    sx = plot.inner_w / x_hi
    sy = plot.inner_h / y_hi
    plot.x_ticks = [Tick(round(plot.left + t.pos * sx, 2), t.label) for t in _ticks(x_hi)]
    plot.y_ticks = [Tick(round(plot.bottom - t.pos * sy, 2), t.label) for t in _ticks(y_hi)]
    # errors drawn last, on top; refusals between
    ordered = sorted(samples, key=lambda s: 0 if s.ok else 1 if _refused(s) else 2)
    plot.points = [
        Point(
            round(plot.left + s.offset_s * unit * sx, 2),
            round(plot.bottom - s.latency_ms * sy, 2),
            s.ok,
            "" if s.ok else _failure_title(s),
            _refused(s),
        )
        for s in ordered
    ]
    if p95_ms:
        plot.lines = [HLine(round(plot.bottom - p95_ms * sy, 2), f"p95 {fmt_ms(p95_ms)}")]
    return plot


def histogram_plot(buckets: Sequence[HistogramBucket]) -> Plot:
    """Request counts (y) per latency bucket (x)."""
    plot = Plot("histogram", "latency (ms)", "requests")
    if not buckets:
        return plot
    lo, hi = buckets[0].lower_ms, buckets[-1].upper_ms
    span = (hi - lo) or 1.0
    y_hi = nice_max(max(b.count for b in buckets))
    sx = plot.inner_w / span
    sy = plot.inner_h / y_hi
    plot.x_ticks = [Tick(round(plot.left + (t.pos - lo) * sx, 2), t.label) for t in _ticks(hi, lo)]
    plot.y_ticks = [
        Tick(round(plot.bottom - t.pos * sy, 2), t.label)
        for t in _ticks(y_hi)
        if t.pos == int(t.pos)
    ]
    plot.bars = [
        Bar(
            round(plot.left + (b.lower_ms - lo) * sx + 0.5, 2),
            round(plot.bottom - b.count * sy, 2),
            round(max((b.upper_ms - b.lower_ms) * sx - 1, 1), 2),
            round(b.count * sy, 2),
            f"{_label(b.lower_ms)}–{_label(b.upper_ms)} ms: {b.count} requests",
        )
        for b in buckets
        if b.count
    ]
    return plot
