"""JUnit XML parses back with the right counts, times, failures, skips and escaped text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from monitor.report import write_report
from monitor.suites.results import RunResult, ScenarioResult, SuiteResult
from tests.report.sample import TARGET, engine_run, hand_run


def _parse(run: RunResult, tmp_path: Path) -> ET.Element:
    path = write_report("junit", run, tmp_path / "junit.xml")
    assert path.read_bytes().startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return ET.parse(path).getroot()


def test_counts_times_failures_and_skips(tmp_path: Path) -> None:
    root = _parse(hand_run(), tmp_path)
    assert root.tag == "testsuites"
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped", "time")} == {
        "tests": "3",
        "failures": "1",
        "errors": "0",
        "skipped": "1",
        "time": "4.500",
    }
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["points", "top3", "rewards"]
    points = suites["points"]
    assert (points.get("tests"), points.get("failures"), points.get("skipped")) == ("1", "1", "0")
    assert points.get("timestamp") == "2026-11-24T14:00:00"
    assert points.get("time") == "3.250"
    props = {p.get("name"): p.get("value") for p in points.iter("property")}
    assert props == {"target": TARGET, "profile": "reference", "seed": "7"}

    (case,) = points.findall("testcase")
    assert case.get("name") == "Concurrent deduction <overdraw>"
    assert case.get("classname") == "points"
    assert case.get("time") == "3.250"
    failures = case.findall("failure")
    assert [f.get("message") for f in failures] == [
        "no_overdraw: observed balance = -300, expected balance >= 0",
        "p95: observed p95 = 220.5 ms, expected p95 <= 100 ms",
    ]
    text = failures[0].text or ""
    assert "expected: balance >= 0" in text
    assert "observed: balance = -300" in text
    assert "op#3 points.deduct 300 -> ok" in text
    system_out = case.findtext("system-out") or ""
    assert "requests: 300 (288 ok, 12 errors)" in system_out
    assert "PASS status codes" in system_out

    (passed,) = suites["top3"].findall("testcase")
    assert passed.find("failure") is None
    assert passed.find("skipped") is None
    (skipped_case,) = suites["rewards"].findall("testcase")
    skipped = skipped_case.find("skipped")
    assert skipped is not None
    assert (skipped.get("message") or "").startswith("profile does not map operation gift.claim")
    assert suites["rewards"].get("skipped") == "1"


def test_hostile_text_is_escaped_and_control_characters_made_visible(tmp_path: Path) -> None:
    raw = write_report("junit", hand_run(), tmp_path / "j.xml").read_bytes()
    assert b"<script>" not in raw
    assert b"\x1b" not in raw
    assert b"\x00" not in raw
    root = ET.fromstring(raw)
    evidence = root.find(".//failure")
    assert evidence is not None
    assert "<script>alert('x')</script>" in (evidence.text or "")
    assert "\\x1b[31mred" in (evidence.text or "")


def test_failed_scenario_without_checks_still_fails(tmp_path: Path) -> None:
    run = RunResult(
        "t", "not a date", 0.0, [SuiteResult("s", [ScenarioResult("x", "s", "failed")])]
    )
    root = _parse(run, tmp_path)
    assert root.get("failures") == "1"
    assert root.find(".//testcase/failure") is not None
    assert root.find("testsuite").get("timestamp") == "not a date"  # type: ignore[union-attr]


async def test_engine_run_report(tmp_path: Path) -> None:
    root = _parse(await engine_run(repeat=30, rounds=1), tmp_path)
    assert (root.get("tests"), root.get("failures")) == ("1", "1")
    failure = root.find(".//failure")
    assert failure is not None
    assert failure.get("message") == "no server errors: observed 4 errors, expected 0 errors"
    assert "HTTP 500 (x4)" in (failure.text or "")
