"""The example configs the repository ships, for tests that check them: YAML blocks and
heredoc'd files of README.md and docs/*.md, deploy/, scenarios/ and bench/ files (the Helm
chart's rendered configs come from ``tests.deploy.chart``)."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from monitor.daemon.config import DaemonConfig

ROOT = Path(__file__).resolve().parents[2]
_FENCE = re.compile(r"^( *)```(\w*)\n(.*?)^\1```", re.M | re.S)
_HEREDOC = re.compile(r"<<'?(\w+)'?\n(.*?)^\1$", re.M | re.S)


@dataclass(frozen=True)
class Example:
    """One YAML document of the repository: where it is, and what it is."""

    where: str
    """``file:line``."""
    kind: str
    """``daemon``, ``experiment``, ``suite``, ``profile``, ``daemon-part`` (a section of a
    daemon config shown alone), ``chart-values`` or ``part`` (a piece of a suite or profile)."""
    data: Any
    text: str
    file_name: str | None = None
    """The name a heredoc writes it to (``cat > network.yaml <<'YAML'``)."""


def classify(data: Any) -> str:
    if not isinstance(data, dict):
        return "part"
    if "targets" in data:
        return "daemon"
    if "method" in data:
        return "experiment"
    if "scenarios" in data:
        return "suite"
    if ("operations" in data and "auth" in data) or ("outcomes" in data and "base_path" in data):
        return "profile"
    if (
        {"daemon", "config", "chaos", "referenceTarget"} & set(data)
        and not set(data)
        - {"daemon", "config", "chaos", "run", "job", "referenceTarget", "suiteFiles"}
        and not (set(data) == {"chaos"} and "experiments" in data["chaos"])
    ):
        return "chart-values"
    if set(data) <= set(DaemonConfig.model_fields):
        return "daemon-part"
    return "part"


def doc_examples() -> list[Example]:
    """Every YAML block and heredoc'd YAML file of README.md and docs/*.md."""
    out = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text()
        for fence in _FENCE.finditer(text):
            lang, body = fence.group(2), textwrap.dedent(fence.group(3))
            line = text.count("\n", 0, fence.start(3)) + 1
            blocks = [(line, body, None)] if lang in ("yaml", "yml") else []
            for doc in _HEREDOC.finditer(body):
                target = re.search(r"> *(\S+\.ya?ml)", body[: doc.start()].split("\n")[-1])
                if target:
                    at = line + body.count("\n", 0, doc.start(2))
                    blocks.append((at, doc.group(2), target.group(1)))
            for at, block, file_name in blocks:
                data = yaml.safe_load(block)
                where = f"{path.relative_to(ROOT)}:{at}"
                out.append(Example(where, classify(data), data, block, file_name))
                for name, body in _chart_experiments(data).items():
                    data = yaml.safe_load(body)
                    out.append(Example(f"{where} ({name})", "experiment", data, body, name))
    return out


def _chart_experiments(values: Any) -> dict[str, str]:
    """A chart values file's ``chaos.experimentFiles`` (file name -> YAML)."""
    if not isinstance(values, dict) or not isinstance(values.get("chaos"), dict):
        return {}
    return dict(values["chaos"].get("experimentFiles") or {})


def file_examples() -> list[Example]:
    """The example and built-in files: deploy/, scenarios/ (profiles and examples too), bench/."""
    paths = [ROOT / "deploy" / "daemon.example.yaml", *sorted((ROOT / "scenarios").rglob("*.yaml")),
             *sorted((ROOT / "bench").glob("*.yaml"))]  # fmt: skip
    out = []
    for path in paths:
        data = yaml.safe_load(path.read_text())
        kind = "profile" if path.parent.name == "profiles" or "profile" in path.name else None
        out.append(Example(str(path.relative_to(ROOT)), kind or classify(data), data, ""))
    configmap = yaml.safe_load((ROOT / "deploy/kubernetes/base/configmap.yaml").read_text())
    text = configmap["data"]["daemon.yaml"]
    out.append(
        Example("deploy/kubernetes/base/configmap.yaml", "daemon", yaml.safe_load(text), text)
    )
    return out
