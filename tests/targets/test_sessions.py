"""A session-creating operation declared by the profile (not the name ``register``), raced in a
phase by an existing user without touching her session; a phase op of an ``auth: false``
operation needs no ``user:``. Against the venue API (tests/targets/venue_server.py)."""

from __future__ import annotations

from pathlib import Path

import yaml

from monitor.suites.loading.loader import load_profile, load_suite
from monitor.suites.run.runner import RunOptions, run_suites
from tests.suites.builtin import problems
from tests.targets.common import HERE
from tests.targets.venue_server import venue_server

SUITE = """
name: signups
operations:
  accounts.open: {description: open an account, args: [username]}
scenarios:
  - name: identical-signups-race
    setup:
      - {op: accounts.open, save: alice}
    phases:
      - ops:
          - {op: accounts.open, user: alice, count: 4, args: {username: "${state.alice.username}"}}
          - {op: accounts.open, count: 2, args: {username: "dup-${vars.run_id}"}}
    readback:
      - {op: points.balance, user: alice, save: wallet}
    checks:
      - name: the taken login is refused every time
        check: expected_outcomes
        args: {kind: accounts.open, where: "user == 'alice'", counts: {already_exists: 4}}
      - name: of two identical new sign-ups without a user, one wins
        check: expected_outcomes
        args: {kind: accounts.open, where: "user == '-'", counts: {ok: 1, already_exists: 1}}
      - name: alice's session still works
        cel: state.wallet.balance == 0
"""


def _profile(tmp: Path) -> Path:
    data = yaml.safe_load((HERE / "venue-profile.yaml").read_text())
    ops = data["operations"]
    opened = dict(ops.pop("register"), creates_session=True)
    opened["extract"] = "{user_id: account.id, login: account.login}"
    ops["accounts.open"] = opened
    path = tmp / "venue-accounts.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


async def test_a_declared_session_creating_operation_makes_users_and_races_in_phases(
    tmp_path: Path,
) -> None:
    profile = load_profile(_profile(tmp_path)).profile
    suite_file = tmp_path / "signups.yaml"
    suite_file.write_text(SUITE)
    suite = load_suite(suite_file, profile)
    async with venue_server() as url:
        run = await run_suites(url, profile, [suite], RunOptions(seed=1))
    (sc,) = run.scenarios
    assert problems(run) == []
    assert sc.status == "passed"
    assert set(sc.state["alice"]) == {"username", "user_id"}  # no token, no refresh token
