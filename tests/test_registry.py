"""The one registry shape: decorator registration, duplicates raise, lookups list valid names,
tests swap entries and get the original back; checks, executors and reports use it."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass

import jsonschema
import pytest
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from monitor.engine import EXECUTORS
from monitor.registry import DuplicateNameError, Registry, UnknownNameError, kinds_schema
from monitor.report import FORMATS
from monitor.report.registry import ReportFormat, register
from monitor.suites.checks import CHECKERS


@dataclass(frozen=True)
class Sink:
    name: str
    url: str


def test_decorator_registers_and_a_taken_name_raises() -> None:
    reg: Registry[object] = Registry("sink")

    @reg.register("webhook")
    class Webhook:
        pass

    assert reg["webhook"] is Webhook
    assert list(reg) == ["webhook"]
    with pytest.raises(DuplicateNameError, match="sink 'webhook' is registered twice"):

        @reg.register("webhook")
        class Other:
            pass

    reg.register("webhook")(Webhook)  # the same entry again (a module imported twice) is fine
    assert reg["webhook"] is Webhook


def test_unknown_name_lists_the_valid_ones() -> None:
    reg: Registry[Sink] = Registry("sink")
    reg.add("a", Sink("a", "http://127.0.0.1:1"))
    reg.add("b", Sink("b", "http://127.0.0.1:2"))
    with pytest.raises(UnknownNameError) as info:
        reg.get_entry("c")
    assert str(info.value) == "unknown sink 'c' (valid: a, b)"
    assert isinstance(info.value, KeyError)
    with pytest.raises(FrozenInstanceError):
        reg["a"].url = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        reg["c"] = Sink("c", "")  # type: ignore[index]


def test_replaced_swaps_entries_for_a_test_and_restores_them() -> None:
    reg: Registry[Sink] = Registry("sink")
    real = reg.add("a", Sink("a", "real"))
    with reg.replaced(a=Sink("a", "fake"), extra=Sink("extra", "x")):
        assert reg["a"].url == "fake"
        assert "extra" in reg
    assert reg["a"] is real
    assert "extra" not in reg


def test_builtins_package_loads_on_first_use() -> None:
    assert "non_negative" in CHECKERS  # one module per checker under builtin/, loaded lazily
    assert {"constant-vus", "constant-arrival-rate"} <= set(EXECUTORS)


def test_report_formats_no_longer_overwrite_silently() -> None:
    assert {"json", "junit", "html"} <= set(FORMATS)
    original = FORMATS["json"]
    with pytest.raises(DuplicateNameError, match="report format 'json'"):
        register("json", "another JSON")(lambda run: b"{}")
    assert FORMATS["json"] is original
    with FORMATS.replaced(json=ReportFormat("json", "stub", lambda run: b"{}")):
        assert FORMATS["json"].title == "stub"
    assert FORMATS["json"] is original


class _StrictSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_unavailable: int = Field(validation_alias=AliasChoices("max_unavailable", "maxUnavailable"))
    size: int = 1


class _LaxSettings(BaseModel):
    size: int = 1


@dataclass(frozen=True)
class _Kind:
    settings: type[BaseModel]


def test_kinds_schema_takes_what_each_kinds_settings_take() -> None:
    """An entry of a kind whose settings forbid other keys takes the entry's own fields and the
    kind's, by every name pydantic takes (a required field by any of its names); a kind whose
    settings ignore other keys takes anything, as its settings do."""
    schema = {"properties": {"name": {"type": "string"}}, "required": ["kind"]}
    kinds_schema(schema, {"strict": _Kind(_StrictSettings), "lax": _Kind(_LaxSettings)})
    validator = jsonschema.Draft202012Validator(schema)

    def errors(entry: dict[str, object]) -> list[str]:
        return [e.message for e in validator.iter_errors(entry)]

    for spelling in ("max_unavailable", "maxUnavailable"):
        entry = {"kind": "strict", "name": "a", spelling: 1}
        assert errors(entry) == []
        _StrictSettings.model_validate({spelling: 1})  # the loader agrees
    assert errors({"kind": "strict", "size": 2}) != []  # neither name of the required field
    [typo] = errors({"kind": "strict", "max_unavailable": 1, "sise": 2})
    assert "'sise' was unexpected" in typo
    assert errors({"kind": "lax", "sise": 2}) == []
    assert any("'nope' is not one of" in m for m in errors({"kind": "nope"}))
