"""``soakmon probe`` on the notebooks stand-in (anonymous, Kinto-like ``{"data": …}`` envelopes,
epoch-ms ``last_modified`` on every record and notebook): the planted counter race (note inserts
that lose ``noteCount`` increments) is found as counter drift; the timestamps that move on every
write are never judged as counters — the correct variant gives no finding."""

from __future__ import annotations

from monitor.openapi.findings import Answer, RepeatRecord, repeat_findings
from monitor.openapi.measures import counter_like, measures
from monitor.openapi.session_run import probe_document
from tests.engine.servers import serve_app
from tests.openapi.notes_server import BASE, make_app


async def test_counter_race_found_and_timestamps_never_judged() -> None:
    for defects in (True, False):
        async with serve_app(await make_app(defects=defects)) as url:
            _, outcomes = await probe_document(f"{url}{BASE}/openapi.json", url)
        assert all(o.error is None for o in outcomes), [o.error for o in outcomes]
        found = {o.probe.op.label: o.findings for o in outcomes}
        assert set(found) == {"createNotebook", "addNote", "addLabel", "createBookmark"}
        bookmark = next(o for o in outcomes if o.probe.op.label == "createBookmark")
        assert [r.describe() for r in bookmark.probe.refs] == [
            "notebookId ← createNotebook's data.id"
        ]  # produced, not drawn: the referenced notebook exists, the repeat is refused
        assert bookmark.replay["baseline"] == [201, 409]
        if defects:
            assert [f.kind for f in found["addNote"]] == ["counter_drift"], found
            assert "noteCount moved by" in found["addNote"][0].message
        else:
            assert not any(found.values()), found
        assert not any("last_modified" in f.message for fs in found.values() for f in fs)


def test_time_like_fields_are_no_counters() -> None:
    body = {"data": {"noteCount": 3, "last_modified": 1733500000123, "lastSeen": 1733500000,
                     "updatedAt": 5, "items": [{"qty": 2, "stamp": 1733500000999},
                                               {"qty": 1, "stamp": 7}]}}  # fmt: skip
    got = measures("GET /x", 200, body, [])
    assert got == {"GET /x#exists": 1, "GET /x:data.noteCount": 3,
                   "GET /x:data.items#len": 2, "GET /x:data.items[].qty#sum": 3}  # fmt: skip
    assert counter_like("timesUsed", 4)
    assert counter_like("balance", 10**6)
    assert not counter_like("etag", 4)
    assert not counter_like("seqNo", 4)


def test_a_measure_that_moves_without_writes_is_not_judged() -> None:
    ok, no = Answer(201, "{}"), Answer(409, "{}")
    before = [{"rows#len": 0, "clock": 100}, {"rows#len": 1, "clock": 107},
              {"rows#len": 1, "clock": 107}]  # fmt: skip
    around = [{"rows#len": 0, "clock": 300}, {"rows#len": 1, "clock": 342}]
    rec = RepeatRecord("op", "POST /x", [ok, no], before, [ok] + [no] * 9, around)
    assert [f.kind for f in repeat_findings(rec)] == ["counter_drift"]  # judged: a false alarm
    rec.still = {"rows#len": 0, "clock": 103}  # it moved with no write: a clock
    assert repeat_findings(rec) == []


async def test_a_probe_that_exercised_nothing_is_an_error_not_a_pass() -> None:
    from monitor.openapi.report import scenario
    from tests.openapi.standin import refuse_everything

    refusing = refuse_everything(await make_app(defects=False))
    async with serve_app(refusing) as url:
        _, outcomes = await probe_document(f"{url}{BASE}/openapi.json", url)
    verdicts = {o.probe.op.label: scenario(o) for o in outcomes}
    assert verdicts["createNotebook"].status == "error"  # every request refused: nothing raced
    message = verdicts["createNotebook"].checks[0].message
    assert message.startswith("createNotebook: none of its 12 requests succeeded"), message
    assert "refused_" in message  # the target's own words
    assert all(v.status == "error" for v in verdicts.values())  # the others: setup refused
