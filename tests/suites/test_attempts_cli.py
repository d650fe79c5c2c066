"""`soakmon run --attempts N [--attempts-all] [--max-spread-us US]` as a user runs it: the summary,
the exit code and the JSON report say how many attempts ran and how tight they started."""

from __future__ import annotations

import json
from pathlib import Path

from monitor.reference import ReferenceServer
from tests.suites.test_run_cli import soakmon

ADDITION = ("run", "points", "--scenario", "concurrent-points-addition", "--seed", "7")


async def test_a_clean_target_holds_in_every_attempt_and_says_how_tight(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    async with ReferenceServer() as server:
        code, out, err = await soakmon(
            *ADDITION, "--target", server.url, "--attempts", "2", "--json", str(report)
        )
    assert code == 0, err
    assert "held in 2 attempts, spread ≤ " in err  # the progress line
    assert "held in 2 attempts" in out  # the summary table's Attempts column
    (scenario,) = json.loads(report.read_text())["suites"][0]["scenarios"]
    attempts = scenario["attempts"]
    assert (attempts["planned"], attempts["run"], attempts["held"]) == (2, 2, 2)
    phase = attempts["attempts"][0]["phases"][0]
    assert phase["sync"] == "last-byte"
    assert phase["requests"] == 10
    assert 0 < phase["send_spread_s"] < 0.001


async def test_attempts_all_reports_the_rate_and_exits_1() -> None:
    async with ReferenceServer(faults=["lost-update"]) as server:  # 20 ms window: always lost
        code, _, err = await soakmon(
            *ADDITION, "--target", server.url, "--attempts", "3", "--attempts-all"
        )
    assert code == 1, err
    assert "violated in 3 of 3 attempts" in err


async def test_phases_sent_wider_than_the_bound_are_weak_and_never_a_pass() -> None:
    async with ReferenceServer() as server:
        code, out, err = await soakmon(
            *ADDITION, "--target", server.url, "--attempts", "2", "--max-spread-us", "0.001"
        )
    assert code == 4, err  # could not be evaluated: not a pass, not a violation
    assert "ERROR [1/1] points/concurrent-points-addition" in err
    assert "every attempt was weak: in 5 of 5 the requests left wider apart than" in err
    assert "observed: 5 weak attempts, send spread up to " in out


async def test_nonsense_attempts_are_usage_errors() -> None:
    for args in (("--attempts", "0"), ("--max-spread-us", "0")):
        code, _, err = await soakmon(*ADDITION, "--target", "http://127.0.0.1:9", *args)
        assert code == 2, err
        assert args[0] in err
