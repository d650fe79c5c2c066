"""YAML that cannot be read names the field it broke in, as written in the file.

One case per way PyYAML (or the loader's bounds) refuses a document: reader (a control
character), scanner, parser, composer (undefined alias, duplicate anchor, a second document),
constructor (a tag's value), the depth bound, the alias budget and a self-referencing alias.
Each must give exactly one line ``file:line: field: invalid YAML: …`` whose field is where the
user would look; outside every key the field is ``(top level)``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from monitor.suites.errors import ConfigError
from monitor.suites.loading.yamlsource import MAX_DEPTH, MAX_VALUES, parse_yaml

SUITE_HEAD = "name: s\nscenarios:\n  - name: a\n"
_PAIRS = zip("abcd", "bcde", strict=True)  # b: &b [*a × 10], … (each alias ten times the last)

CASES = {
    # scanner: a tab where a token must start, inside the third step's body
    "scanner-tab": (
        SUITE_HEAD + "    steps:\n      - {op: a}\n      - {op: b}\n      - body:\n\t  x\n",
        "8: scenarios[0].steps[2].body: invalid YAML: found character '\\t' that cannot start "
        "any token",
    ),
    "scanner-unclosed-quote": (
        SUITE_HEAD + '    description: "abc\n    count: 1\n',
        "6: scenarios[0].description: invalid YAML: found unexpected end of stream (while "
        "scanning a quoted scalar that started on line 4)",
    ),
    "scanner-mapping-in-value": (
        "name: a: b\n",
        "1: name: invalid YAML: mapping values are not allowed here",
    ),
    "parser-flow-sequence": (
        SUITE_HEAD + "    phase: [1, 2\n    count: 1\n",
        "5: scenarios[0].phase[1]: invalid YAML: expected ',' or ']', but got ':'",
    ),
    "parser-indentation": (
        SUITE_HEAD + "    count: 1\n   steps: []\n",
        "5: scenarios[0]: invalid YAML: expected <block end>, but found '<block mapping start>'",
    ),
    "composer-undefined-alias": (
        SUITE_HEAD + "    params:\n      x: *nope\n",
        "5: scenarios[0].params.x: invalid YAML: found undefined alias 'nope'",
    ),
    "composer-duplicate-anchor": (
        SUITE_HEAD.replace("name: a", "name: &a a") + "    params: &a {}\n",
        "4: scenarios[0].params: invalid YAML: anchor &a is defined twice (first on line 3)",
    ),
    "composer-second-document": (
        "name: s\n---\nname: t\n",
        "2: (top level): invalid YAML: expected a single document in the stream, but found "
        "another document",
    ),
    "constructor-date": (
        SUITE_HEAD + "    params:\n      when: 2024-02-30\n",
        "5: scenarios[0].params.when: invalid YAML: '2024-02-30' is not a valid date (day is "
        "out of range for month)",
    ),
    "constructor-float-tag": (
        SUITE_HEAD + "    params:\n      - !!float abc\n",
        "5: scenarios[0].params[0]: invalid YAML: 'abc' is not a valid number",
    ),
    "reader-control-character": (
        SUITE_HEAD + '    description: "ab\x01c"\n',
        "4: scenarios[0].description: invalid YAML: character 0x0001 is not allowed in YAML",
    ),
    "reader-control-character-in-key": (
        SUITE_HEAD + "    para\x02ms: {}\n",
        "4: scenarios[0]: invalid YAML: character 0x0002 is not allowed in YAML",
    ),
    "depth": (
        SUITE_HEAD + "    params:\n      x: " + "[" * 100 + "]" * 100 + "\n",
        "5: scenarios[0].params.x" + "[0]" * 10,  # … and on, cut at the field's length limit
    ),
    "alias-budget": (
        "name: s\na: &a [x,x,x,x,x,x,x,x,x,x]\n"
        + "".join(f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n" for p, n in _PAIRS)
        + SUITE_HEAD.removeprefix("name: s\n")
        + "    params:\n      f: [*e, *e, *e]\n",
        f"10: scenarios[0].params.f: invalid YAML: aliases expand to more than {MAX_VALUES:,} "
        "values",
    ),
    "self-alias": (
        SUITE_HEAD + "    params:\n      x: &a [1, *a]\n",
        "5: scenarios[0].params.x[1]: invalid YAML: alias *a refers to the value that contains it",
    ),
    "self-alias-mapping": (
        SUITE_HEAD + "    params: &p\n      inner: *p\n",
        "5: scenarios[0].params.inner: invalid YAML: alias *p refers to the value that contains",
    ),
    "top-level-line-1": (
        "\t- a\n",
        "1: (top level): invalid YAML: found character '\\t' that cannot start any token",
    ),
    "top-level-unclosed-flow": (
        "[1, 2\n",
        "2: (top level): invalid YAML: expected ',' or ']', but got '<stream end>'",
    ),
}


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_yaml(text, "suite.yaml")
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("name", list(CASES))
def test_each_yaml_error_names_file_line_and_field(name: str) -> None:
    text, expected = CASES[name]
    problems = _problems(text)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"suite.yaml:{expected}"), problems[0]


def test_nesting_is_refused_at_the_bound_not_deeper() -> None:
    (problem,) = _problems("x: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n")
    assert f"nested deeper than {MAX_DEPTH} levels" in problem
    assert len(problem) < 300


def test_a_control_character_deep_in_a_huge_nest_is_found_fast() -> None:
    """The field is read from events without building nodes: a control character after a
    million open brackets (far past the depth bound) is placed without recursion or blow-up."""
    text = "a:\n  b: " + "[" * 1_000_000 + "\x07"
    (problem,) = _problems(text)
    assert problem.startswith("suite.yaml:2: a.b[0][0]")
    assert "character 0x0007" in problem


def test_soakmon_validate_prints_the_field(tmp_path: Path) -> None:
    """Through the CLI, as a user sees it: one line and exit 2."""
    path = tmp_path / "suite.yaml"
    path.write_text(CASES["scanner-tab"][0])
    done = subprocess.run(
        [str(Path(sys.executable).with_name("soakmon")), "validate", str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    first = done.stderr.splitlines()[0]
    assert first == f"{path}:{CASES['scanner-tab'][1]}"
