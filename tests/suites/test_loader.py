"""Suites and profiles fail to load with file, line and field named — before anything runs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from monitor.suites.errors import ConfigError
from monitor.suites.loading.loader import load_profile, load_suite, validate_file
from monitor.suites.loading.paths import builtin_profiles, builtin_suites

GOOD = """\
name: demo
params: {amount: 300}
scenarios:
  - name: one
    setup:
      - {op: register, save: alice}
    phases:
      - ops:
          - op: points.deduct
            user: alice
            count: 2
            args: {amount: "${params.amount}"}
    checks:
      - {check: all_succeed, args: {kind: points.deduct}}
"""


def _write(tmp_path: Path, text: str, name: str = "suite.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    return [str(p) for p in info.value.problems]


def test_a_valid_suite_loads(tmp_path: Path) -> None:
    loaded = load_suite(_write(tmp_path, GOOD))
    assert loaded.suite.scenarios[0].phases[0].ops[0].count == 2


def test_a_bad_count_names_file_line_and_field(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("count: 2", "count: 0"))
    assert _problems(path) == [f"{path}:11: scenarios[0].phases[0].ops[0].count: must be > 0"]


def test_unknown_keys_are_errors_with_a_suggestion(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("      - ops:", "      - opz:"))
    problems = _problems(path)
    assert f"{path}:8: scenarios[0].phases[0].opz: unknown key (did you mean 'ops'?)" in problems
    # one message per mistake: `ops` is missing only because `opz` misspells it
    assert not any("phases[0].ops: required" in p for p in problems)


def test_unknown_operation_parameter_and_user(tmp_path: Path) -> None:
    text = GOOD.replace("op: points.deduct", "op: points.dedcut").replace(
        "params.amount", "params.amout"
    )
    text = text.replace("user: alice\n            count", "user: bob\n            count")
    problems = _problems(_write(tmp_path, text))
    joined = "\n".join(problems)
    assert ":9: scenarios[0].phases[0].ops[0].op: unknown operation 'points.dedcut'" in joined
    assert "did you mean 'points.deduct'?" in joined
    assert ":10: scenarios[0].phases[0].ops[0].user: user 'bob' is not registered" in joined
    assert ":12: scenarios[0].phases[0].ops[0].args: unknown parameter 'amout'" in joined


def test_checks_are_validated_at_load_time(tmp_path: Path) -> None:
    text = GOOD.replace(
        "      - {check: all_succeed, args: {kind: points.deduct}}",
        "      - {check: all_succeed, args: {kind: points.deduct, colour: red}}\n"
        "      - {cel: 'ops[ +'}\n"
        "      - {check: no_such_checker}",
    )
    problems = _problems(_write(tmp_path, text))
    joined = "\n".join(problems)
    assert ":14: scenarios[0].checks[0].args.colour: unknown argument" in joined
    assert ":15: scenarios[0].checks[1].cel: CEL expression 'ops[ +' is invalid" in joined
    assert ":16: scenarios[0].checks[2].check: unknown checker 'no_such_checker'" in joined
    both = GOOD.replace("{check: all_succeed,", "{cel: 'true', check: all_succeed,")
    assert _problems(_write(tmp_path, both, "both.yaml"))[0].endswith(
        ":14: scenarios[0].checks[0]: give exactly one of `check` or `cel`"
    )


def test_yaml_syntax_and_duplicate_keys(tmp_path: Path) -> None:
    bad = _write(tmp_path, "name: x\nscenarios: [\n", "syntax.yaml")
    assert _problems(bad)[0].startswith(f"{bad}:3: scenarios: invalid YAML")
    dup = _write(tmp_path, GOOD.replace("name: demo", "name: demo\nname: again"), "dup.yaml")
    assert _problems(dup) == [f"{dup}:2: name: duplicate key"]


def test_a_broken_template_is_a_load_error(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("${params.amount}", "${params.amount +}"))
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}:12: scenarios[0].phases[0].ops[0].args: CEL expression")


def test_profile_errors_name_the_field(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        name: p
        outcomes:
          - {status: 409}
        operations:
          points.balance: {method: GET, path: /b, extract: "balance[", colour: 1}
          register: {steps: [{op: nope}]}
        """,
        "profile.yaml",
    )
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    problems = [str(p) for p in info.value.problems]
    assert f"{path}:3: outcomes[0]: give `outcome` or `outcome_from`" in problems
    assert any(
        p.startswith(f"{path}:5: operations.points.balance.colour: unknown key") for p in problems
    )


def test_profile_cross_checks(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
        name: p
        operations:
          points.balance: {method: GET, path: /b, extract: "balance["}
          register: {steps: [{op: nope}]}
        """,
        "profile.yaml",
    )
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    problems = [str(p) for p in info.value.problems]
    assert any(
        p.startswith(f"{path}:3: operations.points.balance.extract: bad JMESPath") for p in problems
    )
    expected = "operations.register.steps[0].op: operation 'nope' is not defined in this profile"
    assert f"{path}:4: {expected}" in problems


@pytest.mark.parametrize(
    "path", [*builtin_suites().values(), *builtin_profiles().values()], ids=str
)
def test_every_built_in_file_validates(path: Path) -> None:
    kind, problems = validate_file(path)
    assert problems == []
    assert kind == ("profile" if path.parent.name == "profiles" else "suite")


def test_the_built_in_suites_cover_the_19_spec_scenarios() -> None:  # and variants beside
    spec = Path("/work/shared/concurrent-testing-spec.md")
    names = [load_suite(p).suite for p in builtin_suites().values()]
    refs = [s.spec for suite in names for s in suite.scenarios if s.spec is not None]
    assert len(refs) == 19  # plus the over-subscription variants, which implement no spec title
    assert len(set(refs)) == 19
    if spec.exists():  # every title is a real spec scenario
        text = spec.read_text()
        assert all(f"#### Scenario: {ref}" in text for ref in refs)
