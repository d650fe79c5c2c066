"""`soakmon schema` prints valid JSON Schemas that accept the built-in files; `soakmon validate`
reports problems as file:line: field: message and exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from monitor.cli.app import _register, app
from monitor.suites.loading.paths import builtin_profiles, builtin_suites

_register()
RUNNER = CliRunner()


def _schema(kind: str) -> dict[str, object]:
    result = RUNNER.invoke(app, ["schema", kind])
    assert result.exit_code == 0, result.output
    doc: dict[str, object] = json.loads(result.stdout)
    return doc


@pytest.mark.parametrize(
    ("kind", "files"),
    [("suite", builtin_suites().values()), ("profile", builtin_profiles().values())],
)
def test_schema_is_valid_and_accepts_the_built_in_files(kind: str, files: list[Path]) -> None:
    schema = _schema(kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in files:
        errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
        assert errors == [], (path, errors[:1])


def test_the_daemon_schema_is_valid_too() -> None:
    schema = _schema("daemon")
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["title"]
    # each probe kind's own fields come from the kind's module (a plugin kind included)
    validator = jsonschema.Draft202012Validator(schema)
    config = {"targets": {"t": {"url": "http://127.0.0.1:1"}}}
    ok = {"name": "db", "kind": "promql", "url": "http://p:9090", "queries": {"q": "up"}}
    assert list(validator.iter_errors({**config, "probes": [ok]})) == []
    missing = {"name": "db", "kind": "promql", "url": "http://p:9090"}
    assert any(
        "queries" in e.message for e in validator.iter_errors({**config, "probes": [missing]})
    )


def test_the_experiment_schema_checks_each_step_against_its_kind() -> None:
    schema = _schema("experiment")
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["title"]
    validator = jsonschema.Draft202012Validator(schema)
    step = {"kind": "process-kill", "match": "my-service", "duration": 5}
    doc = {"name": "t", "target": {"url": "http://127.0.0.1:9"}, "method": [step]}
    assert list(validator.iter_errors(doc)) == []
    doc["method"] = [{"kind": "latency", "proxy": "api", "duration": 5}]  # its `latency` missing
    assert any("'latency' is a required" in e.message for e in validator.iter_errors(doc))
    doc["method"] = [{"kind": "nope"}]
    assert any("nope" in e.message for e in validator.iter_errors(doc))


def test_schema_rejects_what_the_loader_rejects() -> None:
    validator = jsonschema.Draft202012Validator(_schema("suite"))
    bad = {"name": "x", "scenarios": [{"name": "y", "phases": [{"ops": []}], "checks": []}]}
    assert list(validator.iter_errors(bad))
    unknown = {"name": "x", "colour": 1, "scenarios": []}
    assert any("colour" in e.message for e in validator.iter_errors(unknown))


def test_schema_fields_carry_descriptions_and_checker_args() -> None:
    schema = _schema("suite")
    defs = schema["$defs"]
    assert isinstance(defs, dict)
    count = defs["PhaseOp"]["properties"]["count"]
    assert "per member of a group" in count["description"]
    op = defs["PhaseOp"]["properties"]["op"]
    assert "points.deduct" in op["examples"]
    assert "enum" not in op  # operations of your own domain are valid too
    assert "check:conservation" in defs


def test_validate_ok_and_errors(tmp_path: Path) -> None:
    ok = RUNNER.invoke(app, ["validate", str(builtin_suites()["points"])])
    assert ok.exit_code == 0
    assert "ok (suite)" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nscenarios:\n  - name: Not_A_Slug\n    phases: []\n    checks: []\n")
    result = RUNNER.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:3: scenarios[0].name:" in result.stderr
    assert f"{bad}:4: scenarios[0].phases: must have at least 1 item(s)" in result.stderr


def test_validate_a_directory_and_a_missing_file(tmp_path: Path) -> None:
    result = RUNNER.invoke(app, ["validate", str(builtin_suites()["points"].parent)])
    assert result.exit_code == 0
    examples = len(list((builtin_suites()["points"].parent / "examples").glob("*.yaml")))
    assert (
        result.stdout.count(": ok (") == len(builtin_suites()) + len(builtin_profiles()) + examples
    )
    missing = RUNNER.invoke(app, ["validate", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2
    assert "cannot read" in missing.stderr
