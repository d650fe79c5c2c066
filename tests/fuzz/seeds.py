"""The shipped example files the mutation fuzzer starts from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class Seed:
    """One example document: where it came from and its YAML text."""

    name: str
    text: str


def _chart_configs() -> list[Seed]:
    """The daemon configs inside the chart's values files (``config:``)."""
    found: list[Seed] = []
    chart = ROOT / "helm" / "soakmon"
    for path in [chart / "values.yaml", *sorted((chart / "ci").glob("*.yaml"))]:
        values = yaml.safe_load(path.read_text()) or {}
        config = values.get("config") if isinstance(values, dict) else None
        if isinstance(config, dict) and "targets" in config:
            text = yaml.safe_dump(config, sort_keys=False)
            found.append(Seed(f"{path.relative_to(ROOT)}#config", text))
    return found


def seeds() -> list[Seed]:
    """Suites, profiles, example suites and daemon configs shipped with the project."""
    files = [
        *sorted((ROOT / "scenarios").glob("*.yaml")),
        *sorted((ROOT / "scenarios" / "profiles").glob("*.yaml")),
        *sorted((ROOT / "scenarios" / "examples").glob("*.yaml")),
        ROOT / "deploy" / "daemon.example.yaml",
    ]
    out = [Seed(str(p.relative_to(ROOT)), p.read_text()) for p in files]
    return out + _chart_configs()
