"""JSON Schemas of suites and profiles, for editors (``# yaml-language-server: $schema=``)."""

from __future__ import annotations

from typing import Any

from monitor.json_schema import AcceptedNames
from monitor.suites.checks import suite_entries
from monitor.suites.profile.models import Profile
from monitor.suites.profile.operations import OPERATIONS, OUTCOMES
from monitor.suites.suite.models import Suite

_DRAFT = "https://json-schema.org/draft/2020-12/schema"


def suite_schema() -> dict[str, Any]:
    """Schema of a suite file, with the operation names and checker argument models."""
    schema = Suite.model_json_schema(schema_generator=AcceptedNames)
    schema["$schema"] = _DRAFT
    schema["title"] = "soakmon suite"
    defs = schema.setdefault("$defs", {})
    ops = sorted(OPERATIONS)
    for name in ("Step", "PhaseOp", "Reader"):
        if name in defs:
            # examples, not an enum: a suite may use any operation its profile defines
            op = defs[name]["properties"]["op"]
            op["examples"] = ops
            op["description"] += " Built-in: " + ", ".join(ops) + "; or any your profile defines."
    defs.update(suite_entries.checker_schemas())
    return schema


def profile_schema() -> dict[str, Any]:
    """Schema of a profile file; the known logical operations and outcomes are listed."""
    schema = Profile.model_json_schema(schema_generator=AcceptedNames)
    schema["$schema"] = _DRAFT
    schema["title"] = "soakmon API profile"
    ops = schema["properties"]["operations"]
    ops["propertyNames"] = {"pattern": r"^[a-z][a-z0-9_.-]*$"}
    ops["description"] += " Known operations: " + ", ".join(sorted(OPERATIONS)) + "."
    rule = schema["$defs"]["OutcomeRule"]["properties"]["outcome"]
    rule["description"] += " Canonical: " + ", ".join(OUTCOMES) + "."
    return schema
