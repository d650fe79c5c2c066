"""One registry shape for every pluggable kind (checks, executors, report formats, probe kinds,
loop kinds, alert sinks, chaos actions).

A :class:`Registry` is a read-only mapping from a name to an entry. Entries are added once, by
a decorator in the module that defines them (one module per kind); adding a second entry under
a taken name raises :class:`DuplicateNameError`. Entries should be immutable (a frozen
dataclass, a class, a function). ``builtins`` names a package whose modules are imported on
first use, so a new kind is one new file in that package. Tests swap entries with
:meth:`Registry.replaced`, which restores the registry on exit.

:func:`kinds_schema` gives the JSON Schema of an entry naming a kind (a daemon config's probe,
an experiment's step) each kind's own fields.

This module imports nothing else of the monitor, so every layer may use it.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from monitor.errors import UsageError

T = TypeVar("T")
F = TypeVar("F")


class RegistryError(UsageError, LookupError):
    """Base of the registry errors."""


class DuplicateNameError(RegistryError, ValueError):
    """A name was registered twice in one registry."""


class UnknownNameError(RegistryError, KeyError):
    """A name that nothing registered; the message lists the valid names."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class Registry(Mapping[str, T], Generic[T]):
    """Named entries of one kind (``kind`` is used in messages: "unknown probe kind 'x'")."""

    def __init__(self, kind: str, *, builtins: str | None = None) -> None:
        self.kind = kind
        self._builtins = builtins
        self._loaded = builtins is None
        self._entries: dict[str, T] = {}

    # -- registration -----------------------------------------------------------------------

    def add(self, name: str, entry: T) -> T:
        """Register ``entry`` under ``name``; a second, different entry raises."""
        current = self._entries.get(name)
        if current is not None:
            if current is entry or current == entry:
                return entry  # the same module imported twice
            raise DuplicateNameError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry
        return entry

    def register(self, name: str) -> Callable[[F], F]:
        """Decorator registering the decorated class or function itself as the entry."""

        def decorate(obj: F) -> F:
            self.add(name, obj)  # type: ignore[arg-type]
            return obj

        return decorate

    @contextlib.contextmanager
    def replaced(self, **entries: T) -> Iterator[Registry[T]]:
        """For tests: add or replace entries (``name=entry``) until the block ends."""
        self.load()
        saved = dict(self._entries)
        self._entries.update(entries)
        try:
            yield self
        finally:
            self._entries.clear()
            self._entries.update(saved)

    # -- lookup -----------------------------------------------------------------------------

    def load(self) -> None:
        """Import every module of the ``builtins`` package (each registers its entries)."""
        if self._loaded or self._builtins is None:
            return
        self._loaded = True
        package = importlib.import_module(self._builtins)
        for info in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{info.name}")

    def get_entry(self, name: str) -> T:
        """The entry ``name``; :class:`UnknownNameError` lists the valid names."""
        self.load()
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        valid = ", ".join(sorted(self)) or "none"
        return f"unknown {self.kind} {name!r} (valid: {valid})"

    def __getitem__(self, name: str) -> T:
        self.load()
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        self.load()
        return iter(self._entries)

    def __len__(self) -> int:
        self.load()
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        self.load()
        return name in self._entries

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {sorted(self._entries)})"


def kinds_schema(schema: dict[str, Any], kinds: Mapping[str, Any]) -> None:
    """Complete the JSON Schema of an entry that names a registered kind (a probe, a chaos
    step): ``kind`` is one of ``kinds``, and each kind adds its own settings' fields
    (``if kind == NAME then ...``; every entry of ``kinds`` has a pydantic ``settings``).

    As the loader, which validates an entry's other keys against its kind's settings, the
    entry of a kind whose settings forbid unknown keys takes no key but the entry's own and
    the kind's (``additionalProperties: false``, naming a misspelt key)."""
    props = schema.setdefault("properties", {})
    props.setdefault("kind", {})["enum"] = sorted(kinds)
    rules: list[dict[str, Any]] = []
    for name, kind in sorted(kinds.items()):
        then = _kind_schema(kind.settings, own=props)
        rule = {"properties": {"kind": {"const": name}}, "required": ["kind"]}
        rules.append({"if": rule, "then": then})
    schema["allOf"] = rules


def _kind_schema(settings: Any, own: Mapping[str, Any]) -> dict[str, Any]:
    """The ``then`` of one kind: its settings' fields (by every name the settings accept)
    beside the entry's ``own`` fields, closed when the settings forbid other keys."""
    doc = _inlined(settings.model_json_schema())
    fields = dict(doc.get("properties", {}))
    required: list[str] = list(doc.get("required", []))
    either: list[dict[str, Any]] = []  # a required field with several names: one of them
    for field_name, info in settings.model_fields.items():
        names = _accepted_names(field_name, info, settings)
        shown = next((n for n in names if n in fields), None)
        if shown is None:
            continue
        for alias in names:
            fields.setdefault(alias, fields[shown])
        if shown in required and len(names) > 1:
            required.remove(shown)
            either.append({"anyOf": [{"required": [n]} for n in names]})
    then: dict[str, Any] = {"properties": {**{k: {} for k in own}, **fields}}
    if required:
        then["required"] = required
    if either:
        then["allOf"] = either
    if settings.model_config.get("extra") == "forbid":
        then["additionalProperties"] = False
    return then


def _accepted_names(field_name: str, info: Any, settings: Any) -> list[str]:
    """Every key pydantic takes for a field: its alias choices, its alias, or its name."""
    alias = info.validation_alias or info.alias
    if alias is None:
        return [field_name]
    choices = getattr(alias, "choices", [alias])
    names = [c for c in choices if isinstance(c, str)]
    if settings.model_config.get("populate_by_name") or settings.model_config.get(
        "validate_by_name"
    ):
        names.append(field_name)
    return names


def _inlined(doc: dict[str, Any]) -> dict[str, Any]:
    """A settings schema with its ``$defs`` references replaced by their definitions (the
    kind's fields are placed inside another schema, whose root has other ``$defs``)."""
    defs = doc.get("$defs", {})

    def inline(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [inline(v, seen) for v in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            key = ref.removeprefix("#/$defs/")
            if key in seen:
                raise ValueError(f"kind settings with a recursive model ({key}) have no schema")
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return {**inline(defs[key], (*seen, key)), **inline(rest, seen)}
        return {k: inline(v, seen) for k, v in node.items() if k != "$defs"}

    result: dict[str, Any] = inline(doc, ())
    return result


__all__ = ["DuplicateNameError", "Registry", "RegistryError", "UnknownNameError", "kinds_schema"]
