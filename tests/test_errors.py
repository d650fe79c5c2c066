"""One error tree: every exception the monitor defines descends from ``SoakmonError`` and knows
its exit code; class names are unique across the monitor (the reference target is a separate
program with its own tree)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections import defaultdict

import pytest

import monitor
from monitor.engine import EngineConfigError
from monitor.errors import ExitCode, SoakmonError, TargetUnreachable, UsageError, exit_code_of
from monitor.registry import UnknownNameError
from monitor.report import ReportWriteError
from monitor.suites.errors import ConfigError, ExpressionError, Problem, UnmappedOperation


def _monitor_classes() -> list[type]:
    classes: dict[int, type] = {}
    for info in pkgutil.walk_packages(monitor.__path__, "monitor."):
        if info.name.startswith("monitor.reference"):
            continue
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if obj.__module__ == info.name:
                classes[id(obj)] = obj
    return list(classes.values())


def test_every_exception_of_the_monitor_is_in_the_one_tree() -> None:
    strays = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in _monitor_classes()
        if issubclass(cls, BaseException) and not issubclass(cls, SoakmonError)
    ]
    assert strays == []


def test_class_names_are_unique_across_the_monitor() -> None:
    where: dict[str, list[str]] = defaultdict(list)
    for cls in _monitor_classes():
        if not cls.__name__.startswith("_"):
            where[cls.__name__].append(cls.__module__)
    assert {name: mods for name, mods in where.items() if len(mods) > 1} == {}


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConfigError([Problem("d.yaml", 3, "suites[0].suite", "unknown suite 'x'")]), 2),
        (UnmappedOperation(["points.deduct"], "mine"), 2),
        (EngineConfigError("timeout must be > 0"), 2),
        (UnknownNameError("unknown probe kind 'x' (valid: self)"), 2),
        (ReportWriteError("cannot write JSON report to /: it is a directory"), 2),
        (UsageError("--vus must be >= 1"), 2),
        (TargetUnreachable("target http://127.0.0.1:1 unreachable"), 3),
        (ExpressionError("${x}: undefined"), 4),
        (RuntimeError("a bug"), 4),
    ],
)
def test_each_error_knows_its_exit_code(error: BaseException, code: int) -> None:
    assert exit_code_of(error) == code


def test_exit_codes_are_the_documented_ones() -> None:
    assert [(c.name, int(c)) for c in ExitCode] == [
        ("OK", 0),
        ("FAILED", 1),
        ("USAGE", 2),
        ("UNREACHABLE", 3),
        ("ERROR", 4),
    ]
