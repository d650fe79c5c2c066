"""``soakmon probe`` on the book-clubs stand-in: every planted race is found (one run each
here; ``make stats`` runs 20), the correct variant gives no finding, and every common way of
declaring the session (bearer, ``Token`` prefix, API-key header, cookie) works."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli.app import _register, app
from monitor.openapi.probe import ProbeOptions, ProbeOutcome
from monitor.openapi.session_run import probe_document
from tests.engine.servers import serve_app
from tests.openapi.clubs_server import make_app

_register()

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


async def test_cookie_session_drafted_profile_runs_the_starter_suite(tmp_path: Path) -> None:
    """init on a cookie-session API: sign up + log in, the `sid` cookie kept as the session
    (`session_cookies`); the starter suite then runs: planted races fail it, the correct
    variant passes."""
    runner = CliRunner()
    for defects, code in ((True, 1), (False, 0)):
        async with clubs(defects=defects, auth="cookie") as url:
            out = tmp_path / f"{defects}.yaml"
            init = ["init", "--openapi", f"{url}/api/openapi.json", "-o", str(out)]
            result = await asyncio.to_thread(runner.invoke, app, init)
            assert result.exit_code == 0, result.output
            assert "session_cookies: {token: sid}" in out.read_text()
            suite = out.with_name(f"{defects}.suite.yaml")
            run = ["run", str(suite), "--profile", str(out), "--target", url]
            result = await asyncio.to_thread(runner.invoke, app, run)
            assert result.exit_code == code, result.output
