"""YAML loading that remembers where every value came from (file and line).

``load_yaml`` returns the plain data plus a ``Locations`` map from a data path such as
``("scenarios", 0, "phase", 1, "count")`` to the 1-based line of that value, so that a
validation error can name file, line and field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from monitor.suites.errors import TOP_LEVEL, ConfigError, Problem
from monitor.suites.loading.yamlwhere import PathKey, field_at


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
    """``("scenarios", 0, "count")`` -> ``scenarios[0].count``; a key with spaces, quotes,
    brackets or line breaks is quoted (``params["a\\nb"]``), so the path stays one line."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not part or _ODD_KEY.search(part):
            out += f"[{json.dumps(part)}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_ODD_KEY = re.compile(r"[\s\"'\[\]\x00-\x1f\x7f\u2028\u2029]")


MAX_DEPTH = 64
"""Nesting levels a document may have (suites and profiles need about ten): deeper documents
are refused before the composer's recursion could fail."""
MAX_VALUES = 200_000
"""Values a document may hold once its aliases are expanded: an alias bomb (aliases of aliases,
a few hundred bytes that expand to millions of values) is refused at the alias that passes it."""
MAX_BYTES = 8 * 1024 * 1024
"""Largest file read."""


_SURROGATE = re.compile("[\ud800-\udfff]")


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with bounds: nesting depth, alias expansion and alias cycles are
    checked while composing; a value a constructor cannot build (``2024-02-30``,
    ``!!float abc``) is a ``ConstructorError`` at its line instead of an arbitrary exception."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0
        self._open: set[str] = set()
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event: Any = self.peek_event()  # type: ignore[no-untyped-call]
        mark: Any = event.start_mark
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open:
                raise yaml.composer.ComposerError(
                    None, None, f"alias *{event.anchor} refers to the value that contains it", mark
                )
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark
            )
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._open.add(anchor)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open.discard(anchor)
        if node is None:
            return None
        self._sizes[id(node)] = size = self._size(node)
        if size > MAX_VALUES:
            raise yaml.composer.ComposerError(
                None, None, f"aliases expand to more than {MAX_VALUES:,} values", node.start_mark
            )
        return node

    def _size(self, node: yaml.Node) -> int:
        sizes = self._sizes
        if isinstance(node, yaml.SequenceNode):
            return 1 + sum(sizes.get(id(item), 1) for item in node.value)
        if isinstance(node, yaml.MappingNode):
            return 1 + sum(sizes.get(id(k), 1) + sizes.get(id(v), 1) for k, v in node.value)
        return 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            value = super().construct_object(node, deep)
            if isinstance(value, str) and _SURROGATE.search(value):  # "\ud800" escapes
                raise yaml.constructor.ConstructorError(
                    None, None, "not valid Unicode (a lone surrogate escape)", node.start_mark
                )
            return value
        except yaml.YAMLError:
            raise
        except Exception as exc:  # a tag's constructor failing in any way: the value is bad
            value = node.value if isinstance(node, yaml.ScalarNode) else ""
            raise yaml.constructor.ConstructorError(
                None, None, _constructor_message(node.tag, value, exc), node.start_mark
            ) from None


def _constructor_message(tag: str, value: str, exc: BaseException) -> str:
    kind = tag.rsplit(":", 1)[-1]
    what = {"timestamp": "date", "bool": "boolean", "int": "integer", "float": "number"}
    shown = value if len(value) <= 40 else value[:39] + "…"
    message = f"{shown!r} is not a valid {what.get(kind, kind)}"
    if type(exc) is ValueError and str(exc).strip():  # "day is out of range for month"
        return f"{message} ({str(exc).strip()})"
    return message


def _key_text(node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode):
        return str(node.value)
    return "<a " + ("list" if isinstance(node, yaml.SequenceNode) else "mapping") + " as key>"


def _walk(root: yaml.Node, locs: Locations, problems: list[Problem]) -> None:
    """Record the line of every value (iteratively; the composer bounded depth and size)."""
    todo: list[tuple[yaml.Node, PathKey]] = [(root, ())]
    while todo:
        node, path = todo.pop()
        locs.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = _key_text(key_node)
                if key in seen:
                    line = key_node.start_mark.line + 1
                    problems.append(
                        Problem(locs.file, line, format_path((*path, key)), "duplicate key")
                    )
                seen.add(key)
                locs.lines[(*path, key)] = key_node.start_mark.line + 1  # a field is its key's line
                todo.append((value_node, (*path, key)))
        elif isinstance(node, yaml.SequenceNode):
            todo.extend((item, (*path, index)) for index, item in enumerate(node.value))


def _field(path: PathKey) -> str:
    return format_path(path) or TOP_LEVEL


def _marked_problem(text: str, file: str, exc: yaml.MarkedYAMLError) -> Problem:
    """A syntax, composer or constructor error as one problem: its line, the field it sits in
    (read again from the parser's events up to the error) and PyYAML's words with their
    context (``while scanning a quoted scalar that started on line 3``)."""
    mark = exc.problem_mark or exc.context_mark
    if mark is None:
        return Problem(file, None, TOP_LEVEL, f"invalid YAML: {exc.problem or exc.context}")
    line = mark.line + 1
    problem = (exc.problem or "").strip()
    about_collection = isinstance(exc, yaml.parser.ParserError) and problem.startswith("expected")
    path = field_at(text, mark.index, collection=about_collection, max_depth=MAX_DEPTH)
    return Problem(file, line, _field(path), f"invalid YAML: {_yaml_words(exc, line)}")


_DUPLICATE_ANCHOR = re.compile(r"found duplicate anchor (.+); first occurrence")


def _yaml_words(exc: yaml.MarkedYAMLError, line: int) -> str:
    problem = (exc.problem or "").strip()
    context = (exc.context or "").strip()
    at = exc.context_mark.line + 1 if exc.context_mark is not None else None
    if (m := _DUPLICATE_ANCHOR.match(context)) and at is not None:
        return f"anchor &{m.group(1).strip(chr(39))} is defined twice (first on line {at})"
    if not context or context == "while scanning for the next token":
        return problem
    if problem.startswith("but "):  # "expected a single document in the stream, but found …"
        return f"{context}, {problem}"
    if at is not None and at != line:
        return f"{problem} ({context} that started on line {at})"
    return f"{problem} ({context})"


def _line_at(text: str, position: int) -> int:
    return text.count("\n", 0, max(position, 0)) + 1


def parse_yaml(text: str, file: str) -> tuple[Any, Locations]:
    """Parse one YAML document from ``text``; raise ``ConfigError`` naming the file and line.
    Every way YAML can be wrong ends here: a character YAML forbids, a syntax error, a
    duplicate key, an alias cycle or bomb, nesting too deep, a value a tag cannot build."""
    locs = Locations(file)
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            raise ConfigError([Problem(file, None, "", "the file is empty")])
        problems: list[Problem] = []
        _walk(node, locs, problems)
        if problems:
            raise ConfigError(problems)
        data = loader.construct_document(node)
    except yaml.reader.ReaderError as exc:
        what = f"character {exc.character:#06x}" if isinstance(exc.character, int) else "byte"
        message = f"invalid YAML: {what} is not allowed in YAML (a control character?)"
        field = _field(field_at(text, exc.position, max_depth=MAX_DEPTH))
        raise ConfigError([Problem(file, _line_at(text, exc.position), field, message)]) from None
    except yaml.MarkedYAMLError as exc:
        raise ConfigError([_marked_problem(text, file, exc)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(file, None, "", f"invalid YAML: {exc}")]) from None
    except RecursionError:  # a safety net: the bounds above should make it unreachable
        message = f"invalid YAML: nested too deeply (at most {MAX_DEPTH} levels)"
        raise ConfigError([Problem(file, None, "", message)]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, locs


def load_yaml(path: Path, display: str | None = None) -> tuple[Any, Locations]:
    """Read and parse a YAML file; unreadable files raise ``ConfigError`` too."""
    name = display or str(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            message = f"the file is larger than {MAX_BYTES >> 20} MiB"
            raise ConfigError([Problem(name, None, "", message)])
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
