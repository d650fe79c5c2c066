"""Duration fields of the config models (daemon config, chaos experiments and their action
kinds, alert sinks): a number of seconds or a string such as ``30s``, ``5m``, ``1h30m``.

Each type parses strings with :func:`~monitor.engine.durations.parse_duration` and gives the
JSON Schema ``anyOf`` the number (with the field's bounds) or a string of the same grammar
(:data:`~monitor.engine.durations.DURATION_PATTERN`), so what ``soakmon schema`` accepts is
what the loader accepts. The ``Bounded`` ones also refuse numbers over ten years, as strings
always are (the daemon config's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from monitor.engine.durations import (
    DURATION_PATTERN,
    MAX_DURATION_S,
    POSITIVE_DURATION_PATTERN,
    parse_duration,
)


def to_seconds(value: Any) -> Any:
    """A duration string as seconds; anything else is left to the number's validation."""
    return parse_duration(value) if isinstance(value, str) else value


_JSON_NAMES = {"gt": "exclusiveMinimum", "ge": "minimum", "lt": "exclusiveMaximum", "le": "maximum"}


@dataclass(frozen=True, slots=True)
class DurationSchema:
    """Pydantic metadata: the JSON Schema of a duration, a number or a duration string."""

    positive: bool

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # the bounds of a number validated after a before-validator come as pydantic's own
        # names (`gt`, `le`), which JSON Schema validators ignore
        number = {_JSON_NAMES.get(k, k): v for k, v in handler(core_schema).items()}
        pattern = POSITIVE_DURATION_PATTERN if self.positive else DURATION_PATTERN
        text = {
            "type": "string",
            "pattern": pattern,
            "description": "a duration: 500ms, 30s, 5m, 1h30m, or a bare number of seconds",
        }
        return {"anyOf": [number, text]}


_PARSE = BeforeValidator(to_seconds)
_ANY = DurationSchema(positive=False)
_POSITIVE = DurationSchema(positive=True)

Duration = Annotated[float, _PARSE, Field(ge=0), _ANY]
"""Seconds, zero or more."""
PositiveDuration = Annotated[float, _PARSE, Field(gt=0), _POSITIVE]
"""Seconds, more than zero."""
BoundedDuration = Annotated[float, _PARSE, Field(ge=0, le=MAX_DURATION_S), _ANY]
"""Seconds, zero up to ten years."""
BoundedPositiveDuration = Annotated[float, _PARSE, Field(gt=0, le=MAX_DURATION_S), _POSITIVE]
"""Seconds, more than zero and at most ten years."""

__all__ = [
    "BoundedDuration",
    "BoundedPositiveDuration",
    "Duration",
    "DurationSchema",
    "PositiveDuration",
    "to_seconds",
]
