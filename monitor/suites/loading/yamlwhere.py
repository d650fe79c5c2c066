"""Where in a YAML document a position sits, as the field path the user wrote.

A document the parser rejects has no data to look a line up in, so ``field_at`` reads the
parser's events again, up to the error, and follows them with a stack of open mappings and
sequences: the path of the value being parsed when the error struck (``scenarios[0].steps[2].
body``) is the field the error belongs to. Only events are read (no nodes are built, no aliases
expanded), the stack is a list of small frames and a path is built once, at the end, so this
costs one linear pass even over the hostile documents the loader refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

PathKey = tuple[str | int, ...]
_NODE = (yaml.ScalarEvent, yaml.AliasEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)
_START = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_END = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_LEAF = (yaml.ScalarEvent, yaml.AliasEvent)
_PLACEHOLDER = "x"


@dataclass(slots=True)
class _Frame:
    """One open mapping or sequence: the part of the path it sits under and where it is."""

    part: str | int | None
    """Its key or index in the enclosing collection (``None`` for the document's root)."""
    mapping: bool
    key: str | None = None
    """A mapping's key whose value is being parsed (``None`` while a key is expected)."""
    index: int = 0
    """A sequence's next item."""


class _Tracker:
    def __init__(self, max_depth: int) -> None:
        self.frames: list[_Frame] = []
        self.max_depth = max_depth
        self.last: tuple[PathKey, int] | None = None
        """The path of the last value (not key) that ended, and the line it ended on."""

    def slot(self) -> str | int | None:
        """The key or index the next node takes (``None``: a key, or the root)."""
        if not self.frames:
            return None
        top = self.frames[-1]
        return top.index if not top.mapping else top.key

    def path(self, *, next_node: bool) -> PathKey:
        """The path of the innermost open collection, and with ``next_node`` the slot of the
        node that comes next in it (a mapping's pending key, a sequence's next index)."""
        parts = [f.part for f in self.frames if f.part is not None]
        if next_node and (slot := self.slot()) is not None:
            parts.append(slot)
        return tuple(parts)

    def feed(self, event: yaml.Event) -> None:
        if isinstance(event, _START):
            self.frames.append(_Frame(self.slot(), isinstance(event, yaml.MappingStartEvent)))
            return
        if isinstance(event, _END):
            if self.frames:
                self._ended(self.path(next_node=False), event)
                self.frames.pop()
            self._done(None)
        elif isinstance(event, _LEAF):
            self._ended(self.path(next_node=True), event)
            alias = isinstance(event, yaml.AliasEvent)
            self._done(f"*{event.anchor}" if alias else str(getattr(event, "value", "")))

    def _ended(self, path: PathKey, event: Any) -> None:
        frames = self.frames
        if isinstance(event, _END):  # the collection's own slot in its parent
            frames = frames[:-1]
        top = frames[-1] if frames else None
        if top is None or not top.mapping or top.key is not None:  # a value, not a key
            self.last = (path, event.end_mark.line)

    def _done(self, text: str | None) -> None:
        """A node ended in the top frame: a mapping's key now waits for its value, a value
        completes its key, a sequence moves to its next item."""
        if not self.frames:
            return
        top = self.frames[-1]
        if not top.mapping:
            top.index += 1
        elif top.key is None:
            top.key = text if text is not None else "<a collection as key>"
        else:
            top.key = None

    @property
    def too_deep(self) -> bool:
        return len(self.frames) > self.max_depth


def _end(event: Any) -> int:
    """Where an event ends (the parser's events always carry marks)."""
    return int(event.end_mark.index)


def field_at(text: str, index: int, *, collection: bool = False, max_depth: int = 64) -> PathKey:
    """The path of the value at character ``index`` of ``text``, or of the value being parsed
    when the parser fails before reaching it (a syntax error's position).

    ``collection`` asks for the enclosing collection only, for errors about a collection's own
    shape ("expected ',' or ']'", a line indented out of its block), where the next slot would
    name an item or key that does not exist. Characters YAML forbids are read as a plain
    letter, so a control character's own position can be looked up too.
    """
    clean = yaml.reader.Reader.NON_PRINTABLE.sub(_PLACEHOLDER, text)
    loader = yaml.SafeLoader(clean)
    tracker = _Tracker(max_depth)
    try:
        while loader.check_event():
            event: Any = loader.peek_event()  # type: ignore[no-untyped-call]
            start = event.start_mark.index
            if start > index or tracker.too_deep:
                break
            if isinstance(event, _NODE):
                ends_after = isinstance(event, _LEAF) and _end(event) > index
                if start == index or ends_after:
                    return tracker.path(next_node=True)
            tracker.feed(event)
            loader.get_event()  # type: ignore[no-untyped-call]
    except yaml.MarkedYAMLError as exc:
        # "name: a: b": the value that ends on the error's line is what went wrong
        last, mark = tracker.last, exc.problem_mark
        if last is not None and mark is not None and last[1] == mark.line:
            return last[0]
    except yaml.YAMLError:
        pass
    finally:
        loader.dispose()
    return tracker.path(next_node=not collection)
