"""``soakmon probe`` on the book-clubs stand-in: every planted race is found (one run each
here; ``make stats`` runs 20), the correct variant gives no finding, and every common way of
declaring the session (bearer, ``Token`` prefix, API-key header, cookie) works."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from monitor.openapi.probe import ProbeOptions, ProbeOutcome
from monitor.openapi.session_run import probe_document
from tests.engine.servers import serve_app
from tests.openapi.clubs_server import make_app

#: operationId -> the finding kind its planted defect must produce
PLANTED = {
    "createClub": "server_error",  # raced unique name
    "joinClub": "server_error",  # raced primary key
    "deleteClub": "phantom",  # every concurrent delete answers 204
    "updateClub": "lost_update",  # whole-row write-back
}


@asynccontextmanager
async def clubs(*, defects: bool, auth: str = "token") -> AsyncIterator[str]:
    async with serve_app(await make_app(defects=defects, auth=auth)) as url:
        yield url


async def probe(url: str) -> dict[str, ProbeOutcome]:
    _, outcomes = await probe_document(f"{url}/api/openapi.json", url, ProbeOptions(concurrency=10))
    return {o.probe.op.label: o for o in outcomes}


async def test_every_planted_defect_is_found() -> None:
    async with clubs(defects=True) as url:
        found = await probe(url)
    for op, kind in PLANTED.items():
        kinds = [f.kind for f in found[op].findings]
        assert kind in kinds, f"{op}: expected a {kind} finding, got {kinds} ({found[op].error})"
    assert not found["signUp"].findings
    assert not found["leaveClub"].findings
    evidence = next(f for f in found["createClub"].findings if f.kind == "server_error")
    assert "HTTP 500" in evidence.evidence[0]
    assert "POST /api/clubs" in evidence.request


@pytest.mark.parametrize("auth", ["token", "bearer", "apikey", "cookie"])
async def test_correct_variant_has_no_finding_with_any_auth(auth: str) -> None:
    async with clubs(defects=False, auth=auth) as url:
        found = await probe(url)
    ran = [o for o in found.values() if o.skipped is None]
    assert len(ran) == 6, {k: o.skipped for k, o in found.items()}
    for label, outcome in found.items():
        assert outcome.error is None, f"{label}: {outcome.error}"
        assert outcome.findings == [], f"{label}: {[f.message for f in outcome.findings]}"
    assert found["logIn"].skipped is not None  # a login is not a resource write
