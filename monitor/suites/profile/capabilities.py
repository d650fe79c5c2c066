"""Capabilities: what a scenario or check needs, what a profile provides, and what is unmet.

A *need* is an operation (any name: the built-in catalogue or a custom suite's own), a result
field (``tasks.version``) or a logical target metric (``db_pool_in_use``). A profile *provides*:

- every operation it maps, except those ``provides.operations`` sets to ``false``;
- every result field, unless ``provides.fields`` sets it to ``false`` (a service without
  versions says ``tasks.version: false``) or the mapping shows it is absent: when every operation
  of the field's noun (``tasks.*`` for ``tasks.version``) extracts a JMESPath object
  (``data.{id: id, title: title}``) and none of them has the key, the field is inferred missing
  (``provides.fields: {NAME: true}`` overrides that); a field that is a capability of an
  argument (``tasks.list_deleted``: ``tasks.list`` lists deleted tasks when asked with
  ``include_deleted``) is inferred from whether the mapping uses that argument;
- every metric named under ``metrics`` when it also maps ``target.metrics``.

``unmet`` lists what is missing in words ("operation rewards.buy", "result field
tasks.version (inferred: no tasks.* extraction builds a version key)", "target metric
db_pool_size"): an inferred absence says so, never silently; the runner makes such a scenario
or check *not applicable* with that reason instead of running it into a false alarm.

Custom suites use the same model: a scenario's steps and phases already need their operations;
``needs: {operations: [...], fields: [...], metrics: [...]}`` on a scenario or a check adds more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jmespath.exceptions import JMESPathError

from monitor.suites.profile.coverage import used_arguments
from monitor.suites.profile.models import Profile
from monitor.suites.profile.outcomes import jmes
from monitor.suites.suite.models import Needs, Scenario

METRICS_OPERATION = "target.metrics"
#: Result fields that are an operation's argument at work, not a key of its value.
ARGUMENT_FIELDS: Mapping[str, tuple[str, str]] = {
    "tasks.list_deleted": ("tasks.list", "include_deleted"),
}
#: The built-in setup step that reaches a balance through whatever the profile offers.
FUND = "fund"
#: The built-in setup step that reaches a reward quantity through whatever the profile offers.
STOCK = "stock"


def funding_routes(provides: Callable[[str], bool]) -> list[str]:
    """The ways ``fund`` can reach a balance with what the profile provides, in the order
    tried: ``points.add``; the welcome gift (``gift.claim``); completing tasks
    (``tasks.create`` + ``tasks.complete``, each paying its bonus)."""
    routes = []
    if provides("points.add"):
        routes.append("points.add")
    if provides("gift.claim"):
        routes.append("gift.claim")
    if provides("tasks.create") and provides("tasks.complete"):
        routes.append("tasks.complete")
    return routes if provides("points.balance") else []


def stock_routes(provides: Callable[[str], bool]) -> list[str]:
    """The ways ``stock`` can reach a reward quantity with what the profile provides, in the
    order tried: ``rewards.grant``; ``rewards.buy`` (the points funded with ``fund`` first);
    the welcome gift's items (``gift.claim``, where its count suffices)."""
    routes = []
    if provides("rewards.grant"):
        routes.append("rewards.grant")
    if provides("rewards.buy") and funding_routes(provides):
        routes.append("rewards.buy")
    if provides("gift.claim"):
        routes.append("gift.claim")
    return routes if provides("rewards.list") else []


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What one profile provides."""

    profile: str
    operations: frozenset[str]
    missing_fields: frozenset[str]
    metrics: frozenset[str]
    keys: Mapping[str, frozenset[str] | None] = field(default_factory=dict)
    """Per mapped operation: the keys its extraction builds, None when it is not an object."""
    declared: Mapping[str, bool] = field(default_factory=dict)
    arguments: Mapping[str, bool] = field(default_factory=dict)
    """Per ``ARGUMENT_FIELDS`` entry: whether the mapping uses the argument."""

    def field_missing(self, name: str) -> bool:
        """Declared false, or inferred absent (see ``why_missing``)."""
        if name in self.declared:
            return not self.declared[name]
        return self.why_missing(name) is not None

    def why_missing(self, name: str) -> str | None:
        """How the mapping shows a field is absent (None when it does not): an argument the
        operation never uses, or a key no extraction of the field's noun builds."""
        if name in ARGUMENT_FIELDS:
            op, arg = ARGUMENT_FIELDS[name]
            if op in self.keys and not self.arguments.get(name, False):
                return f"the profile's {op} never uses its {arg} argument"
            return None
        noun, _, leaf = name.partition(".")
        shapes = [k for op, k in self.keys.items() if op.split(".", 1)[0] == noun]
        if shapes and all(k is not None and leaf not in k for k in shapes):
            return f"no {noun}.* extraction builds a {leaf} key"
        return None

    @classmethod
    def of(cls, profile: Profile) -> Capabilities:
        hidden = {name for name, on in profile.provides.operations.items() if not on}
        mapped = set(profile.operations) - hidden
        if funding_routes(mapped.__contains__):
            mapped.add(FUND)
        if stock_routes(mapped.__contains__):
            mapped.add(STOCK)
        operations = frozenset(mapped)
        metrics = frozenset(profile.metrics) if METRICS_OPERATION in operations else frozenset()
        missing = frozenset(name for name, on in profile.provides.fields.items() if not on)
        keys = {op: k for op, k in _extracted_keys(profile).items() if op in operations}
        arguments = {
            name: arg in used_arguments(profile, op) for name, (op, arg) in ARGUMENT_FIELDS.items()
        }
        declared = dict(profile.provides.fields)
        return cls(profile.name, operations, missing, metrics, keys, declared, arguments)

    def unmet(self, needs: Needs | None = None, operations: Iterable[str] = ()) -> list[str]:
        """What of ``needs`` (plus ``operations``) this profile does not provide, in words."""
        out: list[str] = []
        wanted = [*operations, *(needs.operations if needs else ())]
        out += [f"operation {op}" for op in sorted(set(wanted) - self.operations)]
        if needs is not None:
            for name in sorted(set(needs.fields)):
                if name in self.declared:
                    out += [] if self.declared[name] else [f"result field {name}"]
                elif (why := self.why_missing(name)) is not None:
                    out.append(
                        f"result field {name} (inferred: {why}; `provides: {{fields: "
                        f"{{{name}: true}}}}` says otherwise)"
                    )
            out += [f"target metric {m}" for m in sorted(set(needs.metrics) - self.metrics)]
        return out

    def reason(self, unmet: list[str]) -> str:
        """The not-applicable reason for a list from ``unmet``."""
        return f"profile {self.profile!r} does not provide {', '.join(unmet)}"


def _object_keys(node: Any) -> frozenset[str] | None:
    """The keys of the object a JMESPath AST builds last (``a.{x: b}``, ``a[].{x: b}``)."""
    kind = node.get("type") if isinstance(node, dict) else None
    if kind == "multi_select_dict":
        return frozenset(str(kv.get("value")) for kv in node.get("children", []))
    if kind in ("subexpression", "projection", "pipe") and node.get("children"):
        return _object_keys(node["children"][-1])
    return None


def _extracted_keys(profile: Profile) -> dict[str, frozenset[str] | None]:
    out: dict[str, frozenset[str] | None] = {}
    for name, op in profile.operations.items():
        extract = getattr(op, "extract", None)
        if not extract:
            out[name] = None
            continue
        try:
            out[name] = _object_keys(jmes(extract).parsed)
        except JMESPathError:
            out[name] = None  # validate reports it
    return out


def scenario_operations(scenario: Scenario, *, optional: bool = True) -> list[str]:
    """Every operation a scenario runs (without ``optional`` steps and readers when False)."""
    ops = [s.op for s in (*scenario.setup, *scenario.readback) if optional or not s.optional]
    for phase in scenario.phases:
        ops += [o.op for o in phase.ops if optional or not o.optional]
        ops += [r.op for r in phase.readers if optional or not r.optional]
    return ops


def scenario_unmet(caps: Capabilities, scenario: Scenario) -> list[str]:
    """What the scenario needs (its required operations and ``needs``) that is not provided."""
    return caps.unmet(scenario.needs, scenario_operations(scenario, optional=False))
