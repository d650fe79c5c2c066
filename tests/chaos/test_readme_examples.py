"""The experiment files the README tells a new user to write (``cat > NAME.yaml <<'YAML'``)
load as written: a file mangled by an edit of the prose around it fails here, not in the
user's shell."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitor.chaos.experiment.load import load_experiment

README = Path(__file__).resolve().parents[2] / "README.md"
HEREDOC = re.compile(r"^cat > (?P<name>\S+\.yaml) <<'YAML'\n(?P<body>.*?)^YAML$", re.M | re.S)
EXAMPLES = {m["name"]: m["body"] for m in HEREDOC.finditer(README.read_text())}


def test_the_readme_has_its_experiment_examples() -> None:
    assert set(EXAMPLES) >= {"network.yaml", "pod-kill.yaml"}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_a_readme_experiment_loads_as_written(name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_text(EXAMPLES[name])
    loaded = load_experiment(path)
    assert loaded.actions, f"{name}: no action"
