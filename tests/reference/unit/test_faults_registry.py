"""The fault registry: every fault listed once, none active unless asked, unknown names rejected."""

from __future__ import annotations

from dataclasses import fields

import pytest
from typer.testing import CliRunner

from monitor.cli.app import _register, app
from monitor.reference import DEFAULT_RACE_WINDOW, FAULTS, RACE_FAULTS, ReferenceServer
from monitor.reference.behaviour import Behaviour
from monitor.reference.faults import behaviour_for, check_fault_names

EXPECTED = {
    "top3-overspend",
    "purchase-overspend",
    "lost-update",
    "overdraft",
    "reward-overdraft",
    "double-gift",
    "double-top3",
    "partial-top3",
    "skewed-snapshot",
    "partial-grant",
    "ignore-if-match",
    "no-deadlock-retry",
    "double-completion-bonus",
    "task-id-collision",
    "dirty-read",
    "memory-leak",
    "pool-leak",
    "slow",
    "blocking-reads",
}


def test_every_fault_is_registered_with_the_guarantee_it_breaks() -> None:
    assert set(FAULTS) == EXPECTED
    for name, fault in FAULTS.items():
        assert fault.name == name
        assert len(fault.description) > 20


def test_no_fault_is_active_by_default() -> None:
    assert behaviour_for([]) == Behaviour()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_fault_replaces_exactly_one_concern(name: str) -> None:
    correct, broken = Behaviour(), behaviour_for([name])
    changed = {
        f.name for f in fields(Behaviour) if getattr(correct, f.name) != getattr(broken, f.name)
    }
    # one concern: one slot, or a read/write pair sharing state (dirty-read), or a hook with
    # its cleanup (pool-leak) -- never unrelated operations
    allowed = [
        {"read_points"},
        {"deduct_points"},
        {"add_points", "deduct_points"},
        {"deduct_points", "read_points"},
        {"request_hooks"},
        {"request_hooks", "shutdown_hooks"},
    ]
    assert len(changed) == 1 or changed in allowed, changed


def test_faults_combine() -> None:
    both = behaviour_for(["slow", "memory-leak", "ignore-if-match"])
    assert len(both.request_hooks) == 2
    assert not both.honour_if_match


def test_unknown_fault_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown fault 'nope'") as caught:
        check_fault_names(["slow", "nope"])
    assert all(name in str(caught.value) for name in EXPECTED)
    with pytest.raises(ValueError, match="valid faults: "):
        ReferenceServer(faults=["lost-updates"])


def test_duplicate_names_apply_once() -> None:
    assert check_fault_names(["slow", "slow", "overdraft"]) == ("slow", "overdraft")


def test_cli_lists_every_fault_one_per_line() -> None:
    _register()
    result = CliRunner().invoke(app, ["target", "faults"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == len(EXPECTED)
    for line in lines:
        name, sep, description = line.partition(" — ")
        assert sep
        assert name.strip() in EXPECTED
        fault = FAULTS[name.strip()]
        marker = " [race window]" if fault.race else ""
        assert description == fault.description + marker


#: The faults whose broken window a pause widens (--race-window); the others break their
#: guarantee whatever the timing (ignore-if-match, task-id-collision's 100 ms clock), hold a
#: lock on purpose (blocking-reads), need a deadlock (no-deadlock-retry) or are not races.
RACES = {
    "lost-update",
    "overdraft",
    "dirty-read",
    "skewed-snapshot",
    "reward-overdraft",
    "double-gift",
    "partial-grant",
    "purchase-overspend",
    "double-top3",
    "top3-overspend",
    "partial-top3",
    "double-completion-bonus",
}


def test_race_faults_are_marked_and_pause_20_ms_by_default() -> None:
    assert set(RACE_FAULTS) == RACES
    assert DEFAULT_RACE_WINDOW == 0.02
    assert Behaviour().race_window == DEFAULT_RACE_WINDOW
    assert behaviour_for(["lost-update"], race_window=0).race_window == 0


@pytest.mark.parametrize("bad", [-0.001, float("nan"), float("inf")])
def test_a_negative_or_infinite_race_window_is_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="race window must be a finite number of seconds >= 0"):
        ReferenceServer(race_window=bad)
    with pytest.raises(ValueError, match="race window"):
        behaviour_for([], race_window=bad)


def test_cli_race_window_default_matches_the_service_and_bad_values_exit_2() -> None:
    _register()
    result = CliRunner().invoke(app, ["target", "serve", "--race-window", "-1"])
    assert result.exit_code == 2
    assert "race window must be a finite number of seconds >= 0, got -1.0" in result.output
    serve_help = CliRunner().invoke(app, ["target", "serve", "--help"], terminal_width=200)
    assert "--race-window" in serve_help.output
    assert "0.02" in serve_help.output  # the CLI's default is the service's (not imported)
