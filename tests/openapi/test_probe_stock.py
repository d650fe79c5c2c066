"""``soakmon probe`` on the warehouses stand-in (another domain and shape: OpenAPI 3.1, no
envelopes, an API key from a login answer, a relationship row with a body): the four planted
races are found in one run, the correct variant gives none; the CLI exits 1 on findings,
writes the reports and a --save suite that `soakmon run` replays."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from monitor.cli.app import _register, app
from monitor.openapi.session_run import probe_document
from tests.engine.servers import serve_app
from tests.openapi.stock_server import make_app

_register()
PLANTED = {
    "createWarehouse": "server_error",
    "tagWarehouse": "server_error",
    "untagWarehouse": "phantom",
    "updateWarehouse": "lost_update",
}


async def test_planted_races_found_and_correct_variant_clean() -> None:
    for defects in (True, False):
        async with serve_app(await make_app(defects=defects)) as url:
            _, outcomes = await probe_document(f"{url}/v1/openapi.json", url)
        found = {o.probe.op.label: [f.kind for f in o.findings] for o in outcomes}
        assert all(o.error is None for o in outcomes), [o.error for o in outcomes]
        if defects:
            for op, kind in PLANTED.items():
                assert kind in found[op], (op, found[op])
        else:
            assert not any(found.values()), found


async def test_cli_reports_and_saved_suite(tmp_path: Path) -> None:
    async with serve_app(await make_app(defects=True)) as url:
        args = ["probe", "--openapi", "/v1/openapi.json", "--target", url, "-x", "login",
                "--json", str(tmp_path / "r.json"), "--junit", str(tmp_path / "r.xml"),
                "--save", str(tmp_path / "saved"), "-q"]  # fmt: skip
        result = await asyncio.to_thread(CliRunner().invoke, app, args)
        assert result.exit_code == 1, result.output
        report = json.loads((tmp_path / "r.json").read_text())
        assert report["status"] == "failed"
        assert (tmp_path / "r.xml").read_text().count("<failure") >= 4
        run = ["run", str(tmp_path / "saved/probe-suite.yaml"), "--profile",
               str(tmp_path / "saved/probe-profile.yaml"), "--target", url]  # fmt: skip
        replay = await asyncio.to_thread(CliRunner().invoke, app, run)
        assert replay.exit_code == 1, replay.output
    async with serve_app(await make_app(defects=False)) as url:
        run[-1] = url
        replay = await asyncio.to_thread(CliRunner().invoke, app, run)
        assert replay.exit_code == 0, replay.output


def test_unreachable_target_exits_3(tmp_path: Path) -> None:
    from tests.engine.servers import closed_port_url

    url = closed_port_url()
    result = CliRunner().invoke(app, ["probe", "--openapi", "/v1/openapi.json", "--target", url])
    assert result.exit_code == 3, result.output
