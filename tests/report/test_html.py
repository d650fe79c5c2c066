"""The HTML report: self-contained, escaped, and its plots really drawn by a browser."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from monitor.report import write_report
from monitor.report.html import render_html_text
from monitor.report.plots import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH
from monitor.suites.results import (
    CheckResult,
    RunResult,
    ScenarioResult,
    SuiteResult,
    TimelineSample,
)
from tests.report.browser import dump_dom, parse, screenshot
from tests.report.sample import HOSTILE, TARGET, engine_run, hand_run

FAILED_DOT = (198, 40, 40)  # #c62828
BAR = (91, 143, 209)  # #5b8fd1


def _near(rgb: npt.NDArray[np.int_], color: tuple[int, int, int], tol: int = 12) -> Any:
    """Mask of the pixels within ``tol`` of ``color`` on every channel."""
    return (np.abs(rgb - np.array(color)) <= tol).all(axis=-1)


def test_self_contained_no_external_urls() -> None:
    html = render_html_text(hand_run())
    nodes = parse(html)
    assert not [n for n in nodes if n.tag in {"script", "link", "img", "iframe", "object"}]
    for node in nodes:
        for name, value in node.attrs.items():
            if name in {"src", "href", "xlink:href", "action", "srcset"}:
                assert value.startswith("#"), (node.tag, name, value)
    assert "url(" not in html
    assert "@import" not in html


def test_target_text_is_escaped(tmp_path: Path) -> None:
    html = render_html_text(hand_run())
    assert "<script>" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "\x1b" not in html
    # what a browser makes of it: the text is shown literally, no element got injected
    page = write_report("html", hand_run(), tmp_path / "r.html")
    nodes = parse(dump_dom(page))
    assert not [n for n in nodes if n.tag in {"script", "img"}]
    body = next(n for n in nodes if n.tag == "body").text
    assert TARGET in body
    assert "<script>alert('x')</script> & [bold red]markup[/]" in body
    assert HOSTILE not in body  # control characters were made visible instead


def test_summary_banners_and_checks(tmp_path: Path) -> None:
    page = write_report("html", hand_run(), tmp_path / "r.html")
    nodes = parse(dump_dom(page))
    header = next(n for n in nodes if n.tag == "header")
    assert "FAILED" in header.text
    assert "1 passed" in header.text
    assert "1 not applicable" in header.text
    skipped = next(n for n in nodes if n.attrs.get("id") == "skipped-banner")
    assert "Gift claim" in skipped.text
    assert "profile does not map operation gift.claim" in skipped.text
    rows = [n for n in nodes if n.tag == "tr" and n.inside("table", "summary")]
    assert [r.attrs.get("class") for r in rows if r.attrs.get("class")] == [
        "failed",
        "passed",
        "skipped",
    ]
    sections = [n for n in nodes if n.tag == "section"]
    assert [s.attrs["data-status"] for s in sections] == ["failed", "passed", "skipped"]
    failed = sections[0]
    assert "balance >= 0" in failed.text
    assert "balance = -300" in failed.text
    assert "op#3 points.deduct 300 -> ok" in failed.text
    assert "Scenario 2: Concurrent Point Deduction" in failed.text
    assert "no requests recorded" in sections[2].text
    assert "sample of" not in failed.text  # every request is plotted
    assert "sample of 50 of 300 requests, every error kept" in sections[1].text


def _plot_nodes(nodes: list, kind: str, tag: str) -> list:  # type: ignore[type-arg]
    return [n for n in nodes if n.tag == tag and n.inside("svg", kind)]


@pytest.mark.slow
async def test_plots_are_drawn_in_chromium(tmp_path: Path) -> None:
    run: RunResult = await engine_run(repeat=15, rounds=12, gap_s=0.03)
    sc = run.scenarios[0]
    failures = sum(not t.ok for t in sc.timeline)
    assert len(sc.timeline) == 180
    assert failures == 180 // 7
    page = write_report("html", run, tmp_path / "report.html")

    # the DOM Chromium built: one dot per sample (failures as .err) and histogram bars
    nodes = parse(dump_dom(page))
    (timeline,) = [n for n in nodes if n.tag == "svg" and "timeline" in n.classes]
    assert timeline.attrs["data-points"] == "180"
    dots = _plot_nodes(nodes, "timeline", "circle")
    assert len(dots) == 180
    assert sum("err" in d.classes for d in dots) == failures
    assert all("→ HTTP 500 after" in d.text for d in dots if "err" in d.classes)  # hover text
    coords = {(float(d.attrs["cx"]), float(d.attrs["cy"])) for d in dots}
    assert len(coords) > 20  # spread out, not all drawn on one spot
    bars = _plot_nodes(nodes, "histogram", "rect")
    assert bars
    assert all(float(b.attrs["height"]) > 0 for b in bars)
    assert sum(int(re.search(r": (\d+) requests", b.text).group(1)) for b in bars) == 180  # type: ignore[union-attr]

    # the pixels: blue histogram bars, and left of them, in the same band, the latency plot with
    # blue dots and red failures (the bars anchor the band: other page parts use similar blues)
    png = screenshot(page, tmp_path / "report.png")
    with Image.open(png) as image:
        rgb = np.asarray(image.convert("RGB")).astype(int)
    bars = np.argwhere(_near(rgb, BAR, 4))
    assert len(bars) > 500, "no histogram bars visible"
    (_, left), (bottom, right) = bars.min(axis=0), bars.max(axis=0)
    # both plots share one geometry: the bars span the histogram's inner width, which gives the
    # rendered scale, hence the plot area's height above the bars' common baseline
    scale = (right - left + 1) / (WIDTH - LEFT - RIGHT)
    top = int(bottom - (HEIGHT - TOP - BOTTOM) * scale) - 2
    band = rgb[top : bottom + 1, 100 : left - 30]  # the timeline plot area, left of the bars
    assert band.shape[1] > 300
    r, g, b = band[..., 0], band[..., 1], band[..., 2]
    dots = np.argwhere((b > r + 40) & (b > g + 20))  # any shade of the dot blue (dots overlap)
    assert len(dots) > 25, "no successful-request dots in the latency plot"  # 0 when absent
    assert np.ptp(dots[:, 1]) > 100, "dots do not spread over the time axis"
    assert _near(band, FAILED_DOT, 20).sum() > 20, "failures are not drawn red in the plot"
    assert (band.sum(axis=2) < 3 * 250).mean() > 0.01, "the plot area is (nearly) blank"


def test_expected_refusals_are_not_errors_nor_drawn_red() -> None:
    """A race that ends in one 200, four 409s, one 412 and one 500: the summary counts 5
    refusals and 1 error; the plot draws the refusals amber and only the 500 red."""
    statuses = [200, 409, 409, 409, 409, 412, 500]
    timeline = [
        TimelineSample(i * 0.001, 5.0 + i, status == 200, "rewards.buy", status)
        for i, status in enumerate(statuses)
    ]
    codes = {"200": 1, "409": 4, "412": 1, "500": 1}
    requests = {
        "total": 7, "success_count": 1, "error_count": 6, "status_codes": codes, "errors": [],
        "latency_ms": {"p50": 8.0, "p95": 11.0, "p99": 11.0, "max": 11.0},
    }  # fmt: skip
    sc = ScenarioResult.from_checks(
        "race", "rewards", [CheckResult("c", True, "1", "1")],
        requests=requests, timeline=timeline, server_errors={"500": 1},
    )  # fmt: skip
    html = render_html_text(RunResult("http://t", "now", 1.0, [SuiteResult("rewards", [sc])]))
    nodes = parse(html)
    refused = next(n for n in nodes if n.tag == "td" and "refused" in n.classes)
    errors = next(n for n in nodes if n.tag == "td" and "errors" in n.classes)
    assert (refused.text.strip(), errors.text.strip()) == ("5", "1")
    dots = _plot_nodes(nodes, "timeline", "circle")
    assert sum("refused" in d.classes for d in dots) == 5
    (red,) = [d for d in dots if "err" in d.classes]
    assert red.text == "rewards.buy → HTTP 500 after 11.0 ms, at 0.006 s"
    assert "refused: HTTP 4xx (5)" in html
    assert "error: server error or no response (1)" in html
