"""The operations reference table: generated, complete, and committed up to date."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from monitor.cli.app import _register, app
from monitor.suites.loading.loader import load_suite
from monitor.suites.loading.paths import builtin_profiles, builtin_suites
from monitor.suites.profile.operations import OPERATIONS
from monitor.suites.profile.ops_table import operations_table, render_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def _rows() -> str:
    suites = [load_suite(p).suite for p in builtin_suites().values()]
    return render_markdown(operations_table(suites))


def test_every_operation_is_listed_with_its_arguments_and_users() -> None:
    suites = [load_suite(p).suite for p in builtin_suites().values()]
    rows = {r.name: r for r in operations_table(suites)}
    assert set(OPERATIONS) <= set(rows)
    assert rows["rewards.buy"].args == ("reward",)
    assert "oversubscription/rewards-buy-more-than-affordable" in rows["rewards.buy"].used_by
    assert rows["points.balance"].fields == {"points.transaction_count"}
    assert "tasks.version" in rows["tasks.get"].fields


def test_the_cli_prints_it_and_the_docs_are_up_to_date() -> None:
    _register()
    result = CliRunner().invoke(app, ["schema", "ops"])
    assert result.exit_code == 0
    assert result.output == _rows()
    assert DOC.read_text(encoding="utf-8") == _rows(), "regenerate: soakmon schema ops > " + str(
        DOC.relative_to(DOC.parents[1])
    )


def test_validate_names_a_placeholder_the_operation_never_receives(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\n"
        "operations:\n"
        "  tasks.get:\n"
        "    method: GET\n"
        '    path: "/tasks/{taskid}"\n'
        "  tasks.list:\n"
        "    method: GET\n"
        "    path: /tasks\n"
        '    query: {deleted: "${args.include_delted}"}\n'
    )
    _register()
    result = CliRunner().invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2
    assert (
        f"{bad}:5: operations.tasks.get.path: 'taskid' is not an argument of tasks.get "
        "(it receives task_id) (did you mean 'task_id'?)"
    ) in result.output
    assert f"{bad}:9: operations.tasks.list.query.deleted: 'include_delted'" in result.output


def test_validate_warns_about_an_argument_the_mapping_never_uses(tmp_path: Path) -> None:
    # the reference profile, but its tasks.list forgets the include_deleted query
    data = yaml.safe_load(builtin_profiles()["reference"].read_text())
    del data["operations"]["tasks.list"]["query"]
    profile = tmp_path / "forgetful.yaml"
    profile.write_text(yaml.safe_dump(data, sort_keys=False))
    _register()
    result = CliRunner().invoke(app, ["validate", str(profile)])
    assert result.exit_code == 0  # a warning, not a problem
    assert f"{profile}: ok (profile)" in result.output
    # only the scenarios this profile still runs are named: the one that needs deleted tasks
    # listed is not applicable now (inferred from the forgotten argument), so it is not named
    line = next(x for x in result.output.splitlines() if "operations.tasks.list:" in x)
    assert line.startswith(f"warning: {profile}:")
    assert line.endswith(
        "operations.tasks.list: receives argument 'include_deleted' but the mapping never uses "
        "it; oversubscription/same-task-deleted-and-completed pass(es) it, so their checks may "
        "fail or pass for the wrong reason"
    )
    assert "operations.tasks.get: receives" not in result.output  # task_id is used
    clean = CliRunner().invoke(app, ["validate", str(builtin_profiles()["reference"])])
    assert "never uses" not in clean.output
