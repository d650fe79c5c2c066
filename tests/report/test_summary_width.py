"""The summary table of a real run reads well at 80 and 120 columns: no scenario name is split
over two lines, a column with nothing in it is not shown, and failed checks that do not fit
beside the table go on their own lines under it."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys

import pytest
from rich.console import Console

from monitor.reference import ReferenceServer
from monitor.report import print_summary
from monitor.suites.results import RunResult, SuiteResult
from monitor.suites.results.json_form import from_json

CLI = [sys.executable, "-c", "from monitor.cli.entry import main; main()"]


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """A real `soakmon run` against the reference target with a lost-update fault: the longest
    built-in scenario name passes, the isolation and points scenarios fail (its JSON report,
    read back)."""
    report = tmp_path_factory.mktemp("run") / "run.json"

    async def run() -> None:
        async with ReferenceServer(faults=["lost-update"]) as server:
            proc = await asyncio.create_subprocess_exec(
                *CLI, "run", "isolation", "points", "tasks", "--target", server.url,
                "--scenario", "read-committed-isolation", "--scenario",
                "concurrent-points-addition", "--scenario", "concurrent-task-delete-and-complete",
                "--seed", "7", "--quiet", "--json", str(report),
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
                env={**os.environ, "COLUMNS": "120"},
            )  # fmt: skip
            _, err = await asyncio.wait_for(proc.communicate(), timeout=180)
            assert proc.returncode == 1, err.decode()  # the lost update is caught

    asyncio.run(run())
    return from_json(json.loads(report.read_text()))


def _render(run: RunResult, width: int) -> tuple[list[str], str]:
    console = Console(width=width, record=True, file=io.StringIO())
    print_summary(run, console)
    text = console.export_text()
    table = text.split("\nPASSED —")[0].split("\nFAILED —")[0].split("\nFailed checks:")[0]
    return text.splitlines(), table


@pytest.mark.parametrize("width", [80, 120])
def test_no_scenario_name_is_split_and_every_line_fits(measured: RunResult, width: int) -> None:
    lines, table = _render(measured, width)
    names = [sc.name for sc in measured.scenarios]
    assert "concurrent-task-delete-and-complete" in names  # the longest built-in name
    for name in names:
        assert any(name in line for line in table.splitlines()), (name, table)
    assert max(len(line.rstrip()) for line in lines) <= width
    if width == 120:  # room for one line a scenario: its attempts beside its name
        for sc in measured.scenarios:
            summary = sc.attempts.summary() if sc.attempts else ""
            if sc.status != "error" and len(summary) <= 36:
                row = next(line for line in table.splitlines() if sc.name in line)
                assert summary in row, (summary, table)


@pytest.mark.parametrize("width", [80, 120])
def test_failed_checks_are_shown_on_their_own_lines(measured: RunResult, width: int) -> None:
    lines, table = _render(measured, width)
    failed = next(sc for sc in measured.scenarios if sc.status == "failed")
    first = failed.failed_checks[0].name
    # under the table: the scenario, then the check at the start of a line of its own
    under = lines[lines.index("Failed checks:") :]
    assert any(line.strip() == f"{failed.suite} / {failed.name}" for line in under)
    assert any(line.strip().startswith(f"{first}: observed") for line in under)
    assert first not in table  # not squeezed into a column beside the numbers


@pytest.mark.parametrize("width", [80, 120])
def test_an_all_passed_run_shows_no_failed_checks_column(measured: RunResult, width: int) -> None:
    passed = [
        SuiteResult(s.name, [sc for sc in s.scenarios if sc.status == "passed"])
        for s in measured.suites
    ]
    run = RunResult(measured.target, measured.started_at, measured.duration_s,
                    [s for s in passed if s.scenarios])  # fmt: skip
    assert run.status == "passed"
    lines, _ = _render(run, width)
    assert "Failed checks" not in "\n".join(lines)
    header = next(line for line in lines if "Scenario" in line)
    assert header.split()[-4:] == (
        ["Status", "Requests", "p95", "Attempts"]
        if width == 120
        else ["Scenario", "Status", "Requests", "p95"]  # the attempts go under the names
    )
