"""YAML loading that remembers where every value came from (file and line).

``load_yaml`` returns the plain data plus a ``Locations`` map from a data path such as
``("scenarios", 0, "phase", 1, "count")`` to the 1-based line of that value, so that a
validation error can name file, line and field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from monitor.suites.errors import ConfigError, Problem

PathKey = tuple[str | int, ...]


@dataclass(slots=True)
class Locations:
    """Line numbers of the values of one YAML document."""

    file: str
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """Line of the deepest known prefix of ``path`` (``None`` when nothing matches)."""
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get(())


def format_path(path: Sequence[str | int]) -> str:
    """``("scenarios", 0, "count")`` -> ``scenarios[0].count``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _walk(node: yaml.Node, path: PathKey, locs: Locations, problems: list[Problem]) -> None:
    locs.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                line = key_node.start_mark.line + 1
                problems.append(
                    Problem(locs.file, line, format_path((*path, key)), "duplicate key")
                )
            seen.add(key)
            locs.lines[(*path, key)] = key_node.start_mark.line + 1  # a field is where its key is
            _walk(value_node, (*path, key), locs, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), locs, problems)


def parse_yaml(text: str, file: str) -> tuple[Any, Locations]:
    """Parse one YAML document from ``text``; raise ``ConfigError`` naming the file and line."""
    locs = Locations(file)
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ConfigError([Problem(file, None, "", "the file is empty")])
        problems: list[Problem] = []
        _walk(node, (), locs, problems)
        if problems:
            raise ConfigError(problems)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError([Problem(file, line, "", f"invalid YAML: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(file, None, "", f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    return data, locs


def load_yaml(path: Path, display: str | None = None) -> tuple[Any, Locations]:
    """Read and parse a YAML file; unreadable files raise ``ConfigError`` too."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem(name, None, "", f"cannot read: {exc.strerror}")]) from None
    except UnicodeDecodeError:
        raise ConfigError([Problem(name, None, "", "not UTF-8 text")]) from None
    return parse_yaml(text, name)


def as_mapping(data: Any, locs: Locations, what: str) -> Mapping[str, Any]:
    """The top level of a suite/profile must be a mapping."""
    if not isinstance(data, Mapping):
        raise ConfigError([Problem(locs.file, locs.line_of(()), "", f"a {what} must be a mapping")])
    return data
