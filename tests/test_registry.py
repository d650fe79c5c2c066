"""The one registry shape: decorator registration, duplicates raise, lookups list valid names,
tests swap entries and get the original back; checks, executors and reports use it."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass

import pytest

from monitor.engine import EXECUTORS
from monitor.registry import DuplicateNameError, Registry, UnknownNameError
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
