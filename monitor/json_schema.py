"""JSON Schemas that take every key the loaders take.

pydantic's schema names a field by its alias only (``json`` for ``json_body``); a model that
also takes the field's own name (``populate_by_name``) or several alias choices
(``AliasChoices``) accepts more keys than that schema allows, and a closed model's schema
(``additionalProperties: false``) then refuses a config the loader loads. :class:`AcceptedNames`
lists the field under each name the model takes, and, as pydantic refuses two names of one
field at once, allows one of them at a time.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema


def accepted_names(name: str, info: FieldInfo, model: type[BaseModel]) -> list[str]:
    """Every key pydantic takes for a field: its alias choices or alias, and its own name when
    the model populates by name; the first is the one the schema shows."""
    alias = info.validation_alias or info.alias
    if alias is None:
        return [name]
    choices = getattr(alias, "choices", [alias])
    names = [c for c in choices if isinstance(c, str)]
    config = model.model_config
    if (config.get("populate_by_name") or config.get("validate_by_name")) and name not in names:
        names.append(name)
    return names


class AcceptedNames(GenerateJsonSchema):
    """pydantic's schema generator, each field listed under every name its model takes."""

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        json_schema = super().model_schema(schema)
        cls = schema["cls"]
        props = json_schema.get("properties")
        if not isinstance(props, dict) or not issubclass(cls, BaseModel):
            return json_schema
        one_at_a_time: list[dict[str, Any]] = []
        required: list[str] = json_schema.get("required", [])
        for name, info in cls.model_fields.items():
            names = accepted_names(name, info, cls)
            shown = next((n for n in names if n in props), None)
            if shown is None or len(names) < 2:
                continue
            for other in names:
                props.setdefault(other, props[shown])
            one_at_a_time.append({"not": {"anyOf": _pairs(names)}})
            if shown in required:  # any one of the names
                required.remove(shown)
                one_at_a_time.append({"anyOf": [{"required": [n]} for n in names]})
        if one_at_a_time:
            json_schema.setdefault("allOf", []).extend(one_at_a_time)
        if "required" in json_schema and not required:
            del json_schema["required"]
        return json_schema


def _pairs(names: list[str]) -> list[dict[str, Any]]:
    """``required`` of every two of ``names``: matches an object giving two names at once."""
    return [{"required": [a, b]} for i, a in enumerate(names) for b in names[i + 1 :]]
