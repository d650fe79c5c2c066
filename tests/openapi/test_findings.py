"""The findings are computed from data alone: each kind from a record that shows it, none from
the records of a correct service (idempotent writes, refused repeats, concurrent updates that
all hold)."""

from __future__ import annotations

from typing import Any

from monitor.openapi.findings import (
    Answer,
    RepeatRecord,
    UpdateGroup,
    repeat_findings,
    update_findings,
)

OK, NO, GONE, BOOM = Answer(201, "{}"), Answer(409, "{}"), Answer(404), Answer(500, "oops")


def record(baseline: list[Answer], before: list[Any], concurrent: list[Answer],
           around: list[Any]) -> RepeatRecord:  # fmt: skip
    return RepeatRecord("op", "POST /x", baseline, before, concurrent, around)


def kinds(rec: RepeatRecord) -> list[str]:
    return [f.kind for f in repeat_findings(rec)]


def test_refused_repeat_one_success_is_clean() -> None:
    rows = [{"rows#len": 0}, {"rows#len": 1}, {"rows#len": 1}]
    assert kinds(record([OK, NO], rows, [OK] + [NO] * 9, [{"rows#len": 0}, {"rows#len": 1}])) == []


def test_idempotent_repeat_all_succeed_is_clean() -> None:
    rows = [{"n": 0}, {"n": 1}, {"n": 1}]
    assert kinds(record([OK, OK], rows, [OK] * 10, [{"n": 0}, {"n": 1}])) == []


def test_server_error_and_duplicates() -> None:
    rows = [{"rows#match": 0}, {"rows#match": 1}, {"rows#match": 1}]
    rec = record([OK, NO], rows, [OK, OK, OK, BOOM], [{"rows#match": 0}, {"rows#match": 3}])
    found = repeat_findings(rec)
    assert [f.kind for f in found] == ["server_error", "duplicates"]
    assert "HTTP 500: oops" in found[0].evidence


def test_phantom_successes() -> None:
    seen = [{"item#exists": 1}, {"item#exists": 0}, {"item#exists": 0}]
    rec = record([OK, GONE], seen, [OK] * 8 + [GONE] * 2, [{"item#exists": 1}, {"item#exists": 0}])
    assert kinds(rec) == ["phantom"]


def test_counter_drift_and_lost_increments() -> None:
    before = [{"c": 0, "rows#len": 0}, {"c": 1, "rows#len": 1}, {"c": 2, "rows#len": 2}]
    rec = record([OK, OK], before, [OK] * 10, [{"c": 0, "rows#len": 0}, {"c": 4, "rows#len": 10}])
    assert kinds(rec) == ["counter_drift"]
    rec = record(
        [OK, OK], before[:3], [OK] * 10, [{"c": 0, "rows#len": 0}, {"c": 4, "rows#len": 4}]
    )
    assert kinds(rec) == ["lost_update"]


def test_a_request_failing_alone_is_not_called_a_race() -> None:
    found = repeat_findings(record([BOOM, BOOM], [{}, {}, {}], [BOOM] * 2, [{}, {}]))
    assert "not a race" in found[0].message


def test_lost_update_of_partial_writes() -> None:
    groups = [
        UpdateGroup({"a": "A"}, [Answer(200)] * 5),
        UpdateGroup({"b": "B"}, [Answer(200)] * 5),
    ]
    original = {"a": "a0", "b": "b0"}
    assert (
        update_findings("op", "PATCH /x", groups, original, {"a": "A", "b": "B"}, partial=True)
        == []
    )
    found = update_findings("op", "PATCH /x", groups, original, {"a": "A", "b": "b0"}, partial=True)
    assert [f.kind for f in found] == ["lost_update"]
    assert 'b reads "b0"' in found[0].evidence[1]
    refused = [UpdateGroup({"a": "A"}, [Answer(200)]), UpdateGroup({"b": "B"}, [Answer(412)])]
    assert (
        update_findings("op", "PATCH /x", refused, original, {"a": "A", "b": "b0"}, partial=True)
        == []
    )
