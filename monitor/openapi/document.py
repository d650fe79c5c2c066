"""Load an OpenAPI document (file or URL; JSON or YAML), validate it, resolve every ``$ref``.

Validation is ``openapi-spec-validator`` (OpenAPI 3.0 and 3.1); references are resolved with
``referencing`` (JSON pointers, escaped names, relative files), the library ``jsonschema`` uses.
Recursive schemas are cut at the second visit of a reference (``{}``: any value).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import yaml
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT4, DRAFT202012

from monitor.errors import UsageError

FETCH_TIMEOUT_S = 15.0


class OpenApiError(UsageError):
    """The document cannot be read, is not OpenAPI 3.x, or does not validate."""


@dataclass(frozen=True, slots=True)
class Document:
    """A validated document with every ``$ref`` inlined."""

    source: str
    version: str
    raw: dict[str, Any]
    resolved: dict[str, Any]


def _is_url(source: str) -> bool:
    return urlsplit(source).scheme in {"http", "https"}


def _parse(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise OpenApiError(f"{source}: neither JSON nor YAML: {exc}") from None


def read_text(source: str) -> str:
    """The text at a file path or an http(s) URL."""
    if _is_url(source):
        try:
            with urllib.request.urlopen(source, timeout=FETCH_TIMEOUT_S) as answer:
                return str(answer.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise OpenApiError(f"{source}: HTTP {exc.code} fetching the document") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise OpenApiError(f"{source}: cannot fetch the document: {reason}") from None
    try:
        return Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise OpenApiError(f"{source}: cannot read the document: {exc.strerror}") from None


def _retrieve(base: str) -> Any:
    def retrieve(uri: str) -> Resource[Any]:
        target = urljoin(base, uri) if _is_url(base) else str(Path(base).parent / uri)
        return Resource.from_contents(_parse(read_text(target), target), DRAFT202012)

    return retrieve


def _validate(raw: dict[str, Any], source: str) -> None:
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    try:
        validate(raw)
    except OpenAPIValidationError as exc:
        where = "/".join(str(p) for p in getattr(exc, "path", ())) or "(document)"
        raise OpenApiError(f"{source}: {where}: {exc.message}") from None
    except Exception as exc:  # the validator's own errors (unresolvable refs, bad versions)
        raise OpenApiError(f"{source}: not a valid OpenAPI document: {exc}") from None


def resolve(raw: dict[str, Any], source: str) -> dict[str, Any]:
    """``raw`` with every ``$ref`` replaced by what it points to (cycles cut to ``{}``)."""
    spec = DRAFT4 if str(raw.get("openapi", "")).startswith("3.0") else DRAFT202012
    base = source if _is_url(source) else Path(source).resolve().as_uri()
    resource = Resource.from_contents(raw, default_specification=spec)
    registry: Registry[Any] = Registry(retrieve=_retrieve(source)).with_resource(  # type: ignore[call-arg]
        base, resource
    )
    resolver = registry.resolver(base_uri=base)

    def walk(node: Any, trail: tuple[str, ...], current: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                if ref in trail:
                    return {}
                try:
                    found = current.lookup(ref)
                except Unresolvable as exc:
                    raise OpenApiError(f"{source}: cannot resolve $ref {ref!r}: {exc}") from None
                merged = walk(found.contents, (*trail, ref), found.resolver)
                extra = {k: walk(v, trail, current) for k, v in node.items() if k != "$ref"}
                return {**merged, **extra} if isinstance(merged, dict) else merged
            return {k: walk(v, trail, current) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, trail, current) for v in node]
        return node

    resolved = walk(raw, (), resolver)
    assert isinstance(resolved, dict)
    return resolved


def load_document(source: str, *, validate: bool = True) -> Document:
    """Read, validate and resolve the document at ``source`` (file path or http(s) URL)."""
    raw = _parse(read_text(source), source)
    if not isinstance(raw, dict):
        raise OpenApiError(f"{source}: the document is not a mapping")
    version = str(raw.get("openapi") or raw.get("swagger") or "")
    if not version.startswith("3."):
        found = f"version {version!r}" if version else "no 'openapi' field"
        hint = (
            "; convert a Swagger 2.0 document first, e.g. `npx swagger2openapi"
            " swagger.json -o openapi.json`"
            if version.startswith("2.")
            else ""
        )
        raise OpenApiError(f"{source}: soakmon reads OpenAPI 3.0 and 3.1 documents ({found}){hint}")
    if validate:
        _validate(raw, source)
    return Document(source, version, raw, resolve(raw, source))
