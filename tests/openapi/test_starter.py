"""The starter suite of ``soakmon init --openapi`` judges only what it exercised: on the correct
stand-ins every scenario passes; on a service that refuses every request (401/403/404/422 on
each operation, sign-up and login aside) no scenario passes — each is an error naming the
operation (``exercised``) or the setup step that was refused, never a silent pass."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from monitor.cli.app import _register, app
from tests.engine.servers import serve_app
from tests.openapi import clubs_server, notes_server, stock_server
from tests.openapi.standin import refuse_everything

_register()
SIGN_UP = {"concurrent-create-account", "concurrent-register"}


def init(tmp_path: Path, document: dict[str, Any]) -> tuple[Path, Path]:
    source = tmp_path / "openapi.json"
    source.write_text(json.dumps(document))
    out = tmp_path / "profile.yaml"
    result = CliRunner().invoke(app, ["init", "--openapi", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out.with_name("profile.suite.yaml"), out


async def run(suite: Path, profile: Path, url: str, report: Path) -> tuple[int, dict[str, Any]]:
    args = ["run", str(suite), "--profile", str(profile), "--target", url, "--attempts", "1",
            "--json", str(report)]  # fmt: skip
    result = await asyncio.to_thread(CliRunner().invoke, app, args)
    text = await asyncio.to_thread(lambda: report.read_text() if report.exists() else "")
    assert text, result.output
    return result.exit_code, json.loads(text)


def scenarios(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for suite in report["suites"] for s in suite["scenarios"]]


async def test_starter_suite_passes_on_correct_standins_and_never_on_a_refusing_one(
    tmp_path: Path,
) -> None:
    for module, auth in ((stock_server, "apikey"), (clubs_server, "token"), (notes_server, "")):
        folder = tmp_path / module.__name__.rsplit(".", 1)[-1]
        folder.mkdir()
        options = {"auth": auth} if auth else {}  # notes: anonymous
        suite, profile = init(folder, module.openapi(**options))
        async with serve_app(await module.make_app(defects=False, **options)) as url:
            code, report = await run(suite, profile, url, folder / "ok.json")
        ran = scenarios(report)
        assert code == 0, [(s["name"], s["status"]) for s in ran]
        assert all(s["status"] == "passed" for s in ran)
        assert len(ran) >= 4
        exercised = [c for s in ran for c in s["checks"] if c["name"].startswith("some ")]
        assert len(exercised) == len(ran)  # every scenario judges that it exercised something

        refusing = refuse_everything(await module.make_app(defects=False, **options))
        async with serve_app(refusing) as url:
            code, report = await run(suite, profile, url, folder / "refused.json")
        ran = scenarios(report)
        assert code == 4, [(s["name"], s["status"]) for s in ran]  # errors only: nothing judged
        assert report["status"] != "passed"
        for s in ran:
            if s["name"] in SIGN_UP:  # let through by the gate: it does succeed
                assert s["status"] == "passed", s
                continue
            assert s["status"] == "error", (s["name"], s["status"])
            text = " ".join(c["message"] for c in s["checks"] if c["status"] == "error")
            assert "setup" in text or "0 of " in text, (s["name"], text)
        by_exercised = [
            c["message"] for s in ran for c in s["checks"] if c["name"].startswith("some ")
            if c["status"] == "error"
        ]  # fmt: skip
        assert by_exercised, "the scenario without parents must be judged unexercised"
        assert any("succeeded (at least 1 needed)" in m and "refused_" in m for m in by_exercised)
