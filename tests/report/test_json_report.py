"""The JSON report follows design.md (schema_version 1), round-trips, and is written atomically."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from monitor.report import ReportWriteError, write_report, write_reports
from monitor.suites.results import ReportFormatError, from_json, to_json
from tests.report.sample import HOSTILE, engine_run, hand_run

NUMBER = (int, float)


def assert_design_contract(doc: dict[str, Any]) -> None:
    """Keys and types exactly as design.md's "Report JSON" section (extra keys allowed)."""
    assert doc["schema_version"] == 1
    assert isinstance(doc["target"], str)
    assert isinstance(doc["started_at"], str)
    assert isinstance(doc["duration_s"], NUMBER)
    assert isinstance(doc["passed"], bool)
    assert isinstance(doc["suites"], list)
    for suite in doc["suites"]:
        assert isinstance(suite["name"], str)
        assert isinstance(suite["passed"], bool)
        for sc in suite["scenarios"]:
            assert isinstance(sc["name"], str)
            assert isinstance(sc["passed"], bool)
            assert isinstance(sc["duration_s"], NUMBER)
            req = sc["requests"]
            for key in ("total", "success_count", "error_count"):
                assert type(req[key]) is int, key
            assert all(
                isinstance(k, str) and k.isdigit() and isinstance(v, int)
                for k, v in req["status_codes"].items()
            )
            assert all(isinstance(e, str) for e in req["errors"])
            assert set(req["latency_ms"]) >= {"p50", "p95", "p99", "max"}
            assert all(isinstance(v, NUMBER) for v in req["latency_ms"].values())
            for check in sc["checks"]:
                for key in ("name", "expected", "observed", "message"):
                    assert isinstance(check[key], str), key
                assert isinstance(check["passed"], bool)


def test_hand_run_matches_contract_and_round_trips(tmp_path: Path) -> None:
    run = hand_run()
    path = write_report("json", run, tmp_path / "report.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert_design_contract(doc)
    assert doc["passed"] is False
    assert doc["counts"] == {"passed": 1, "failed": 1, "error": 0, "skipped": 1}
    points, top3, rewards = (s["scenarios"][0] for s in doc["suites"])
    assert (points["status"], top3["status"], rewards["status"]) == ("failed", "passed", "skipped")
    assert rewards["passed"] is False
    assert HOSTILE in rewards["skip_reason"]
    assert [s["passed"] for s in doc["suites"]] == [False, True, True]
    assert points["checks"][0]["evidence"][1].endswith(HOSTILE)
    assert points["spec_ref"] == "Scenario 2: Concurrent Point Deduction"
    assert len(points["timeline"]) == 300
    assert from_json(doc) == run


async def test_engine_run_matches_contract_and_round_trips(tmp_path: Path) -> None:
    run = await engine_run()
    write_reports(run, json=tmp_path / "r.json", junit=None)
    doc = json.loads((tmp_path / "r.json").read_text())
    assert_design_contract(doc)
    assert doc["suites"][0]["scenarios"][0]["requests"]["total"] == 180
    assert from_json(doc) == run


def test_a_plain_v1_document_without_additive_keys_is_read() -> None:
    doc = {
        "schema_version": 1,
        "target": "http://t",
        "started_at": "2026-01-01T00:00:00Z",
        "duration_s": 2,
        "passed": False,
        "suites": [
            {
                "name": "s",
                "passed": False,
                "scenarios": [
                    {
                        "name": "a",
                        "passed": False,
                        "duration_s": 1.5,
                        "requests": {
                            "total": 1,
                            "success_count": 0,
                            "error_count": 1,
                            "status_codes": {"500": 1},
                            "errors": ["HTTP 500"],
                            "latency_ms": {"p50": 1, "p95": 1, "p99": 1, "max": 1},
                        },
                        "checks": [
                            {
                                "name": "c",
                                "passed": False,
                                "expected": "0",
                                "observed": "1",
                                "message": "",
                            }
                        ],
                    }
                ],
            }
        ],
    }
    run = from_json(doc)
    assert run.scenarios[0].status == "failed"
    assert run.duration_s == 2.0
    assert run.scenarios[0].requests["latency_ms"]["p95"] == 1.0
    assert not run.passed


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema_version": 2}, "schema_version: expected 1, got 2"),
        ({"duration_s": "fast"}, "report.duration_s: expected float, got str"),
        (
            {"suites": [{"name": "s", "scenarios": [{"name": "x"}]}]},
            "report.suites[0].scenarios[0].passed: missing",
        ),
        ({"suites": [7]}, "report.suites[0]: expected an object"),
    ],
)
def test_from_json_names_the_bad_field(change: dict[str, Any], message: str) -> None:
    doc = to_json(hand_run()) | change
    with pytest.raises(ReportFormatError, match=message.replace("[", r"\[").replace("]", r"\]")):
        from_json(doc)


def test_non_finite_numbers_become_null(tmp_path: Path) -> None:
    run = hand_run()
    run.scenarios[0].requests["latency_ms"]["p99"] = math.inf
    text = write_report("json", run, tmp_path / "r.json").read_text()
    assert "Infinity" not in text
    assert json.loads(text)["suites"][0]["scenarios"][0]["requests"]["latency_ms"]["p99"] is None


def test_write_is_atomic_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "r.json"
    write_report("json", hand_run(), path)
    first = path.stat().st_ino
    write_report("json", hand_run(), path)
    assert path.stat().st_ino != first  # replaced by rename, never truncated in place
    assert sorted(os.listdir(path.parent)) == ["r.json"]  # no temporary files left


def test_write_errors_name_the_file_and_cause(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(ReportWriteError, match=r"cannot write JSON report to .*file\.txt/r\.json"):
        write_report("json", hand_run(), blocker / "r.json")
    with pytest.raises(ReportWriteError, match="is a directory"):
        write_report("json", hand_run(), tmp_path)
    with pytest.raises(
        ReportWriteError, match=r"unknown report format 'pdf' \(known: html, json, junit\)"
    ):
        write_report("pdf", hand_run(), tmp_path / "r.pdf")
