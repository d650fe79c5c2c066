"""Turn pydantic validation errors into ``file:line: field: message`` problems."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from monitor.suites.errors import Problem
from monitor.suites.loading.yamlsource import Locations, format_path

_TYPE_ERRORS = {
    "int_type", "int_parsing", "float_type", "float_parsing", "string_type", "bool_type",
    "bool_parsing", "string_pattern_mismatch", "model_type", "dict_type", "list_type",
    "literal_error", "int_from_float", "union_tag_invalid",
}  # fmt: skip


def _data_path(loc: Sequence[str | int], data: Any) -> tuple[str | int, ...]:
    """Keep only the parts of a pydantic ``loc`` that exist in the data (drop union tags)."""
    out: list[str | int] = []
    node = data
    for part in loc:
        inside_map = isinstance(node, Mapping) and part in node
        inside_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if inside_map or inside_list:
            node = node[part]
            out.append(part)
        elif isinstance(node, Mapping) and isinstance(part, str) and _is_field_name(part):
            out.append(part)  # a missing or unknown key (not a union member's tag)
            node = None
    return tuple(out)


def _is_field_name(part: str) -> bool:
    return part[:1].islower() and "[" not in part and "-" not in part


def _all_field_names(models: Iterable[type[BaseModel]]) -> set[str]:
    names: set[str] = set()
    todo = list(models)
    seen: set[type[BaseModel]] = set()
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        names.update(model.model_fields)
        for info in model.model_fields.values():
            for arg in _nested_models(info.annotation):
                todo.append(arg)
    return names


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found.append(annotation)
    for arg in getattr(annotation, "__args__", ()) or ():
        found.extend(_nested_models(arg))
    return found


def _fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> set[str]:
    """Field names of the model(s) that a pydantic ``loc`` (minus its last part) points into."""
    current: list[Any] = [model]
    for part in loc[:-1]:
        nxt: list[Any] = []
        for ann in current:
            for typ in _flatten(ann):
                if isinstance(typ, type) and issubclass(typ, BaseModel):
                    if isinstance(part, str) and part in typ.model_fields:
                        nxt.append(typ.model_fields[part].annotation)
                elif getattr(typ, "__origin__", None) in (list, dict):
                    nxt.append(typ.__args__[-1])
        if nxt:
            current = nxt
    names: set[str] = set()
    for ann in current:
        for typ in _flatten(ann):
            if isinstance(typ, type) and issubclass(typ, BaseModel):
                names.update(typ.model_fields)
    return names


def _flatten(annotation: Any) -> list[Any]:
    """Union members and Annotated/Optional wrappers unpacked (lists and dicts kept)."""
    if getattr(annotation, "__origin__", None) in (list, dict):
        return [annotation]
    args = getattr(annotation, "__args__", None)
    if args and not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return [t for a in args for t in _flatten(a)]
    meta = getattr(annotation, "__metadata__", None)
    if meta is not None:
        return _flatten(annotation.__origin__)
    return [annotation]


def _message(err: Mapping[str, Any], key: str | int | None, known: set[str]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(key), sorted(known), n=1)
        return "unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")
    if kind == "missing":
        return "required"
    if kind == "greater_than":
        return f"must be > {ctx.get('gt')}"
    if kind == "greater_than_equal":
        return f"must be >= {ctx.get('ge')}"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} item(s)"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    if kind == "string_pattern_mismatch":
        return _pattern_message(err)
    return str(err["msg"]).rstrip(".")


def _misspelt(
    path: tuple[str | int, ...],
    errs: list[Mapping[str, Any]],
    by_path: Mapping[tuple[str | int, ...], list[Mapping[str, Any]]],
    data: Any,
) -> bool:
    """A required key that is missing only because a sibling key is a misspelling of it."""
    if not path or not all(e["type"] == "missing" for e in errs):
        return False
    wanted, parent = str(path[-1]), path[:-1]
    for other, other_errs in by_path.items():
        if other[:-1] != parent or not other or other == path:
            continue
        if any(e["type"] == "extra_forbidden" for e in other_errs) and difflib.get_close_matches(
            str(other[-1]), [wanted], n=1
        ):
            return True
    return False


def _pattern_message(err: Mapping[str, Any]) -> str:
    """A regular expression in words, for the patterns the models use."""
    pattern = str((err.get("ctx") or {}).get("pattern", ""))
    value = err.get("input")
    shown = f" (got {value!r})" if isinstance(value, str) and len(value) <= 60 else ""
    if pattern.startswith("^https?://"):
        return f"must be an http:// or https:// URL{shown}"
    if pattern.startswith("^[A-Za-z0-9]"):
        return f"must be a name (letters, digits, '_', '.', '-'; a letter or digit first){shown}"
    if pattern.startswith("^[a-z0-9]"):
        return f"must be lowercase letters, digits and '-'{shown}"
    return f"{err['msg'].lower()}"


def problems_from(
    exc: ValidationError, data: Any, locs: Locations, model: type[BaseModel]
) -> list[Problem]:
    """One problem per offending field, with the most specific message for each."""
    known = _all_field_names([model])
    by_path: dict[tuple[str | int, ...], list[Mapping[str, Any]]] = {}
    for err in exc.errors():
        path = _data_path(err["loc"], data)
        by_path.setdefault(path, []).append(err)
    problems: list[Problem] = []
    for path, errs in by_path.items():
        if _misspelt(path, errs, by_path, data):
            continue  # "did you mean" at the misspelt key says it: one message per mistake
        specific = [e for e in errs if e["type"] not in _TYPE_ERRORS]
        if specific:
            msgs = sorted(
                {
                    _message(e, path[-1] if path else None, _fields_at(model, e["loc"]) or known)
                    for e in specific
                }
            )
            message = "; ".join(msgs)
        elif len(errs) > 1 and any(e["type"] == "string_pattern_mismatch" for e in errs):
            others = [e for e in errs if e["type"] != "string_pattern_mismatch"]
            first = _message(others[0] if others else errs[0], None, known)
            message = f"{first} (or a ${{expr}} template)"
        else:
            message = _message(errs[0], path[-1] if path else None, known)
        problems.append(Problem(locs.file, locs.line_of(path), format_path(path), message))
    problems.sort(key=lambda p: (p.line or 0, p.field))
    return problems
