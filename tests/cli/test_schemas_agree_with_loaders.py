"""`soakmon schema suite|profile|daemon|experiment` — the JSON Schemas users put in their
editors (yaml-language-server) and CI (check-jsonschema) — give the same verdict as the loaders:
every example config the repository ships passes both, a duration string (`5m`) passes both, a
misspelt key of a probe's or chaos step's kind fails both, naming the key, and field by field
the schema accepts a duration string exactly where the loader does."""

from __future__ import annotations

import functools
import json
import re
import shutil
import string
import typing
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError
from typer.testing import CliRunner

from monitor.chaos.experiment.load import load_experiment
from monitor.chaos.experiment.model import Experiment
from monitor.chaos.registry import ACTIONS
from monitor.cli.app import _register, app
from monitor.daemon.config import DaemonConfig, load_config
from monitor.engine.durations import (
    DURATION_PATTERN,
    POSITIVE_DURATION_PATTERN,
    parse_duration,
)
from monitor.observe.probes.registry import PROBE_KINDS
from monitor.suites.errors import ConfigError
from monitor.suites.loading.loader import load_profile, load_suite
from monitor.suites.profile.models import Profile
from monitor.suites.suite.models import Suite
from tests.cli.config_examples import ROOT, Example, doc_examples, file_examples
from tests.deploy.chart import VALUES_FILES, find, render, values_id

_register()
LOADERS = {
    "daemon": load_config,
    "experiment": load_experiment,
    "suite": load_suite,
    "profile": load_profile,
}


@functools.cache
def _schema(kind: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["schema", kind])
    assert result.exit_code == 0, result.output
    schema: dict[str, Any] = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def schema_errors(kind: str, data: Any) -> list[str]:
    """What check-jsonschema would print: each error's path and message."""
    validator = jsonschema.Draft202012Validator(_schema(kind))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


def loader_problems(kind: str, path: Path) -> str:
    """The loader's verdict: its `file:line: field: message` lines, empty when it loads."""
    try:
        LOADERS[kind](path)
    except ConfigError as exc:
        return str(exc) or repr(exc)
    return ""


# -- the example configs of the repository --------------------------------------------------

EXAMPLES = [e for e in doc_examples() + file_examples() if e.kind in {*LOADERS, "daemon-part"}]


def test_the_examples_are_found() -> None:
    """The docs' and files' examples of every kind are there (a test of none passes nothing)."""
    kinds = [e.kind for e in EXAMPLES]
    assert kinds.count("daemon") >= 4  # README, docs, deploy/daemon.example, kustomize base
    assert kinds.count("daemon-part") >= 2  # README's chaos and alerting sections
    assert kinds.count("experiment") >= 4  # README's two, docs/kubernetes.md's two
    assert kinds.count("suite") >= 8
    assert kinds.count("profile") >= 6


def _etc(tmp_path: Path) -> Path:
    """/etc/soakmon as the examples name it: the files the docs write (network.yaml ...) and
    scenarios/examples/ (docs/your-own-domain.md mounts them there)."""
    etc = tmp_path / "etc" / "soakmon"
    (etc / "experiments").mkdir(parents=True)
    for path in (ROOT / "scenarios" / "examples").glob("*.yaml"):
        shutil.copy(path, etc / path.name)
    for example in doc_examples():
        if example.file_name:
            (etc / example.file_name).write_text(example.text)
            (etc / "experiments" / example.file_name).write_text(example.text)
    return etc


def _written(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text.replace("/etc/soakmon/", f"{tmp_path}/etc/soakmon/"))
    return path


def _readme_daemon() -> Example:
    return next(e for e in EXAMPLES if e.kind == "daemon" and e.where.startswith("README.md"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.where)
def test_each_example_config_passes_the_schema_and_the_loader(
    example: Example, tmp_path: Path
) -> None:
    kind, data, text = example.kind, example.data, example.text
    if kind == "daemon-part":  # a section shown alone: in the README's daemon config
        kind, data = "daemon", {**_readme_daemon().data, **data}
        text = yaml.safe_dump(data, sort_keys=False)
    assert schema_errors(kind, data) == [], example.where
    _etc(tmp_path)
    path = _written(tmp_path, text) if text else ROOT / example.where
    assert loader_problems(kind, path) == "", example.where


@pytest.mark.parametrize("values", VALUES_FILES, ids=values_id)
def test_the_charts_daemon_config_and_experiments_pass_the_schema_and_the_loader(
    values: Path | None, tmp_path: Path
) -> None:
    """What the chart mounts (config.* rendered into daemon.yaml, chaos.experimentFiles)."""
    [config_map] = find(render(values), "ConfigMap", "rel-soakmon")
    etc = _etc(tmp_path)
    checked = []
    for key, text in config_map["data"].items():
        kind, _, name = key.partition(".")
        if key == "daemon.yaml":
            kind, name = "daemon", key
        place = {"suite": "suites", "profile": "profiles", "experiment": "experiments"}
        folder = etc / place[kind] if kind in place else etc
        folder.mkdir(exist_ok=True)
        path = _written(folder, text, name)
        if kind in ("daemon", "experiment"):
            checked.append((kind, path))
    assert checked[0][0] == "daemon"
    for kind, path in checked:
        assert schema_errors(kind, yaml.safe_load(path.read_text())) == [], path.name
        assert loader_problems(kind, path) == "", path.name


# -- durations ------------------------------------------------------------------------------


def _parses(text: str, positive: bool) -> bool | None:
    """The loader's verdict on a duration string; None past its ten-year bound (which no
    pattern expresses)."""
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        return None if "ten years" in str(exc) else False
    return seconds > 0 if positive else True


@given(st.text(alphabet=string.digits[:3] + "0.mMsShH \t\nx-e", max_size=12))
def test_the_duration_patterns_are_the_parsers_grammar(text: str) -> None:
    for pattern, positive in ((DURATION_PATTERN, False), (POSITIVE_DURATION_PATTERN, True)):
        verdict = _parses(text, positive)
        if verdict is not None:
            assert (re.search(pattern, text) is not None) == verdict, (pattern, text)


def test_the_duration_patterns_by_example() -> None:
    accepted = ["5m", "30s", "250ms", "1h30m", "1.5", ".5s", "2.m", " 1H30M ", "10", "0s0.5s"]
    rejected = ["5 m", "1e3", "-1s", "m", "", "5min", "1d", "1h-30m", "5ms5", "∞"]
    zero = ["0", "0s", "0.0m0s", ".0", " 00.00h "]
    for text in accepted:
        assert re.search(POSITIVE_DURATION_PATTERN, text), text
        assert parse_duration(text) > 0, text
    for text in zero:
        assert re.search(DURATION_PATTERN, text), text
        assert parse_duration(text) == 0, text
        assert not re.search(POSITIVE_DURATION_PATTERN, text), text
    for text in rejected:
        assert not re.search(DURATION_PATTERN, text), text
        with pytest.raises(ValueError, match="duration"):
            parse_duration(text)


def _models(roots: list[type[BaseModel]]) -> list[type[BaseModel]]:
    """Every model reachable from ``roots`` through their fields' types."""
    found: list[type[BaseModel]] = []

    def visit(tp: Any) -> None:
        if isinstance(tp, type) and issubclass(tp, BaseModel) and tp not in found:
            found.append(tp)
            for info in tp.model_fields.values():
                visit(info.annotation)
        for arg in typing.get_args(tp):
            visit(arg)

    for root in roots:
        visit(root)
    return found


_SAMPLES = ["90s", "1h30m", "250ms", " 2M ", "1m0.5s", "0s", "0.0m", "soon", "5 m", "5min"]
_RESOLVED_LATER = {("ProbeConfig", "kind")}
"""Fields the loader checks after the model (against the registry), the schema at once."""


def test_every_field_takes_a_duration_string_in_the_schema_exactly_where_the_loader_does() -> None:
    """Field by field of every model of the four file kinds (each probe and action kind's
    settings too), validating strings with the field's own type (as the loader does) and with
    the field's schema: every duration field (the loader takes `1h30m`, not `soon`) is one in
    the schema and agrees on every sample, no other field is one in the schema, and the schema
    refuses no sample the loader takes (no false error)."""
    roots: list[type[BaseModel]] = [DaemonConfig, Experiment, Suite, Profile]
    roots += [k.settings for k in ACTIONS.values()] + [k.settings for k in PROBE_KINDS.values()]
    models = _models(roots)
    assert len(models) > 40
    disagree, durations = [], 0
    for model in models:
        doc = model.model_json_schema()
        for name, info in model.model_fields.items():
            if (model.__name__, name) in _RESOLVED_LATER:
                continue
            alias = info.validation_alias or info.alias or name
            key = alias if isinstance(alias, str) else alias.choices[0]  # type: ignore[union-attr]
            schema = jsonschema.Draft202012Validator(
                {**doc["properties"][key], "$defs": doc.get("$defs", {})}
            )
            adapter = TypeAdapter(info.rebuild_annotation())

            def loader_takes(sample: str, adapter: TypeAdapter[Any] = adapter) -> bool:
                try:
                    adapter.validate_python(sample)
                except ValidationError:
                    return False
                return True

            where = f"{model.__name__}.{name}"
            duration = loader_takes("1h30m") and not loader_takes("soon")
            if duration != (schema.is_valid("1h30m") and not schema.is_valid("soon")):
                disagree.append(f"{where}: a duration for the loader: {duration}")
            durations += duration
            for sample in _SAMPLES:
                loader = loader_takes(sample)
                if loader != schema.is_valid(sample) and (duration or loader):
                    disagree.append(f"{where} {sample!r}: the loader takes it: {loader}")
    assert disagree == []
    assert durations >= 30  # the daemon's, the experiment's and the kinds' duration fields


def test_a_daemon_config_with_duration_strings_passes_both(tmp_path: Path) -> None:
    config = {
        "targets": {"api": {"url": "http://127.0.0.1:8080", "timeout": "30s"}},
        "suites": [{"suite": "points", "target": "api", "timeout": "1m30s",
                    "schedule": {"every": "5m", "jitter": "30s"}}],
        "probes": [{"name": "self", "kind": "self", "every": "15s"}],
        "slo": {"window": "5m"},
        "analysis": {"horizon": "2h", "memory_warmup": "0s"},
        "grace_period": "45s",
    }  # fmt: skip
    assert schema_errors("daemon", config) == []
    cfg = load_config(_written(tmp_path, yaml.safe_dump(config)))
    assert (cfg.suites[0].schedule.every, cfg.suites[0].timeout, cfg.grace_period) == (300, 90, 45)

    config["grace_period"] = "45 seconds"
    [error] = schema_errors("daemon", config)
    assert error.startswith("grace_period: '45 seconds' is not valid")
    problems = loader_problems("daemon", _written(tmp_path, yaml.safe_dump(config)))
    assert "grace_period: invalid duration '45 seconds'" in problems
    config["grace_period"] = "0s"  # a positive duration
    assert schema_errors("daemon", config)
    problems = loader_problems("daemon", _written(tmp_path, yaml.safe_dump(config)))
    assert "grace_period: must be > 0" in problems


def test_an_experiment_with_duration_strings_passes_both(tmp_path: Path) -> None:
    experiment = {
        "name": "kill", "target": {"url": "http://127.0.0.1:8080", "timeout": "5s"},
        "steady_state": {"baseline": "5s"},
        "method": [{"kind": "pod-kill", "namespace": "staging", "selector": "app=api",
                    "after": "1m", "duration": "30s", "recover_within": "2m"}],
        "recovery": {"within": "30s", "observe": "5s"},
        "guardrails": {"allow": {"namespace": ["staging"]}, "burn_window": "10s"},
    }  # fmt: skip
    assert schema_errors("experiment", experiment) == []
    loaded = load_experiment(_written(tmp_path, yaml.safe_dump(experiment)))
    assert loaded.actions[0].settings.recover_within == 120
    assert loaded.experiment.method_span == 90


# -- the kinds' own keys --------------------------------------------------------------------


def test_a_misspelt_key_of_a_probe_kind_fails_both_naming_it(tmp_path: Path) -> None:
    probe = {"name": "api", "kind": "scrape", "url": "http://127.0.0.1:8080/metrics",
             "seires": {"pool_size": "db_pool_size"}}  # fmt: skip
    config = {"targets": {"api": {"url": "http://127.0.0.1:8080"}}, "probes": [probe]}
    [error] = schema_errors("daemon", config)
    assert error.startswith("probes.0: Additional properties are not allowed ('seires' was")
    problems = loader_problems("daemon", _written(tmp_path, yaml.safe_dump(config)))
    assert "probes[0].seires" in problems

    probe["series"] = probe.pop("seires")
    assert schema_errors("daemon", config) == []
    assert loader_problems("daemon", _written(tmp_path, yaml.safe_dump(config))) == ""
    # the entry's own fields stay allowed beside the kind's
    probe.update(target="api", every="30s")
    assert schema_errors("daemon", config) == []
    assert loader_problems("daemon", _written(tmp_path, yaml.safe_dump(config))) == ""


def test_a_misspelt_key_of_a_chaos_step_kind_fails_both_naming_it(tmp_path: Path) -> None:
    step = {"name": "slow", "kind": "latency", "proxy": "api", "latency": 200, "jiter": 100,
            "duration": "30s"}  # fmt: skip
    experiment = {"name": "slow", "target": {"url": "http://127.0.0.1:8080"}, "method": [step]}
    [error] = schema_errors("experiment", experiment)
    assert error.startswith("method.0: Additional properties are not allowed ('jiter' was")
    problems = loader_problems("experiment", _written(tmp_path, yaml.safe_dump(experiment)))
    assert "method[0].jiter" in problems

    step["jitter"] = step.pop("jiter")
    assert schema_errors("experiment", experiment) == []
    assert loader_problems("experiment", _written(tmp_path, yaml.safe_dump(experiment))) == ""
    # pod-kill's `maxUnavailable` (the PodDisruptionBudget spelling) is taken by both
    step = {"kind": "pod-kill", "namespace": "staging", "selector": "app=api", "maxUnavailable": 2}
    experiment.update(method=[step], guardrails={"allow": {"namespace": ["staging"]}})
    assert schema_errors("experiment", experiment) == []
    assert loader_problems("experiment", _written(tmp_path, yaml.safe_dump(experiment))) == ""


# -- every name of a field ------------------------------------------------------------------


def _loader_takes_key(model: type[BaseModel], key: str) -> bool:
    """The model's own verdict on ``key`` alone: not refused as an unknown (extra) key."""
    try:
        model.model_validate({key: None})
    except ValidationError as exc:
        return not any(e["type"] == "extra_forbidden" and e["loc"] == (key,) for e in exc.errors())
    return True


def test_every_name_the_loader_takes_for_a_field_is_one_the_schema_takes() -> None:
    """Field by field of every closed model of the four file kinds, in the schema `soakmon
    schema KIND` prints: each key the model takes (the field's name, its alias, each alias
    choice; asked of the model itself) is a property there. pydantic's own schema names a
    field by its alias only, so `json_body` of a soak request, which the loader takes, was
    refused."""
    roots = {"daemon": DaemonConfig, "experiment": Experiment, "suite": Suite, "profile": Profile}
    missing, checked, aliased = [], 0, 0
    for kind, root in roots.items():
        schema = _schema(kind)
        for model in _models([root]):
            node = schema if model is root else schema.get("$defs", {}).get(model.__name__)
            if node is None or node.get("additionalProperties") is not False:
                continue  # inlined elsewhere, or open: any key passes the schema
            for name, info in model.model_fields.items():
                alias = info.validation_alias or info.alias
                choices = getattr(alias, "choices", [alias])
                keys = {name, *(c for c in choices if isinstance(c, str))}
                aliased += len(keys) > 1
                for key in sorted(keys):
                    if _loader_takes_key(model, key):
                        checked += 1
                        if key not in node["properties"]:
                            missing.append(f"{kind}: {model.__name__}.{key}")
    assert missing == []
    assert checked > 100
    assert aliased >= 1  # the soak request's json / json_body


def test_a_soak_request_body_passes_both_by_either_name(tmp_path: Path) -> None:
    config: dict[str, Any] = {
        "targets": {"api": {"url": "http://127.0.0.1:8080"}},
        "soak": [{"name": "orders", "target": "api", "vus": 2,
                  "requests": [{"method": "POST", "path": "/orders", "json_body": {"n": 1}}]}],
    }  # fmt: skip
    for key in ("json_body", "json"):
        config["soak"][0]["requests"][0] = {"method": "POST", "path": "/o", key: {"n": 1}}
        assert schema_errors("daemon", config) == [], key
        cfg = load_config(_written(tmp_path, yaml.safe_dump(config)))
        assert cfg.soak[0].requests[0].json_body == {"n": 1}
    # both names at once: the loader refuses it, and so does the schema
    config["soak"][0]["requests"][0] |= {"json_body": {"n": 2}}
    assert schema_errors("daemon", config)
    assert "json_body" in loader_problems("daemon", _written(tmp_path, yaml.safe_dump(config)))
