"""`soakmon validate SUITE --profile P` accepts the built-in suite names `run` accepts and says,
per profile, which scenarios will run and which will not (with the reason), plus the profile's
own notes; a 5xx relabelled as a refusal name is flagged."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from monitor.cli.app import _register, app
from tests.targets.common import HERE

_register()
RUNNER = CliRunner()


def _validate(*args: str) -> tuple[int, str]:
    result = RUNNER.invoke(app, ["validate", *args])
    return result.exit_code, result.output


def test_a_built_in_suite_name_is_validated_against_a_profile_with_what_applies() -> None:
    code, out = _validate("rewards", "--profile", str(HERE / "rpc-profile.yaml"))
    assert code == 0, out
    assert "rewards: ok (suite, built-in " in out
    assert "against profile 'rpc': 1 of 3 scenarios applicable" in out
    assert "  applicable: concurrent-reward-redemption" in out
    assert (
        "  not applicable: concurrent-welcome-gift: "
        "profile 'rpc' does not provide operation gift.claim" in out
    )
    assert "  not applicable: reward-grant-and-query: " in out
    # no warning about arguments of scenarios that do not apply anyway
    assert "reward-grant-and-query" not in "".join(
        line for line in out.splitlines() if line.startswith("warning")
    )


def test_an_inferred_missing_capability_says_it_was_inferred_and_how_to_say_otherwise() -> None:
    code, out = _validate("tasks", "--profile", str(HERE / "rpc-profile.yaml"))
    assert code == 0, out
    line = next(x for x in out.splitlines() if "concurrent-task-delete-and-complete" in x)
    assert "tasks.list_deleted" in line
    assert "inferred" in line


def test_a_5xx_relabelled_as_a_refusal_name_is_flagged(tmp_path: Path) -> None:
    profile = tmp_path / "p.yaml"
    profile.write_text(
        "name: p\n"
        "outcome_names: {username_taken: the username is taken}\n"
        "outcomes:\n"
        "  - {status: [409, 500], outcome: username_taken}\n"
        "operations:\n"
        "  register: {method: POST, path: /users, auth: false}\n"
    )
    code, out = _validate(str(profile))
    assert code == 0, out
    assert f"{profile}:4: outcomes[0]:" in out
    assert "HTTP 500 answers are named username_taken" in out
    assert "still count as server errors" in out
