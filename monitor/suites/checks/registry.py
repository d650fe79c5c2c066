"""The checker registry: ``@checker("name", args=Model)`` on a pure function.

A checker is ``(ctx: CheckContext, args: Model) -> CheckResult``. Its pydantic ``Model`` validates
the suite entry at load time (unknown keys are errors, expressions are compiled) and gives the
JSON Schema. Built-ins live one per module in ``monitor.suites.checks.builtin`` and register on
import; adding a checker is adding a file there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from monitor.registry import Registry
from monitor.suites.checks.context import CheckContext
from monitor.suites.errors import ExpressionError
from monitor.suites.expressions.check_args import CheckDataError
from monitor.suites.results import CheckResult

M = TypeVar("M", bound=BaseModel)
log = logging.getLogger(__name__)
CheckFunc = Callable[[CheckContext, Any], CheckResult]


class CheckArgs(BaseModel):
    """Base of every checker's args model: strict keys, frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


@dataclass(frozen=True, slots=True)
class Checker:
    """A registered checker."""

    name: str
    func: CheckFunc
    args_model: type[BaseModel]
    description: str

    def parse_args(self, raw: Mapping[str, Any] | BaseModel | None) -> BaseModel:
        """Validate suite args (raises ``pydantic.ValidationError``)."""
        if isinstance(raw, self.args_model):
            return raw
        if isinstance(raw, BaseModel):
            raw = raw.model_dump()
        return self.args_model.model_validate(dict(raw or {}))

    def __call__(
        self, ctx: CheckContext, args: Mapping[str, Any] | BaseModel | None
    ) -> CheckResult:
        return self.func(ctx, self.parse_args(args))


CHECKERS: Registry[Checker] = Registry("check", builtins="monitor.suites.checks.builtin")
"""Every checker by name; the built-ins load on first use."""


def checker(
    name: str, *, args: type[M], description: str | None = None
) -> Callable[[Callable[[CheckContext, M], CheckResult]], Callable[[CheckContext, M], CheckResult]]:
    """Register a checker function under ``name`` with its args model."""

    def register(
        func: Callable[[CheckContext, M], CheckResult],
    ) -> Callable[[CheckContext, M], CheckResult]:
        doc = description or (func.__doc__ or "").strip().splitlines()[0]
        CHECKERS.add(name, Checker(name, func, args, doc))
        return func

    return register


def get_checker(name: str) -> Checker:
    """The checker called ``name``; the KeyError message lists the valid names."""
    try:
        return CHECKERS[name]
    except KeyError:
        valid = ", ".join(sorted(CHECKERS))
        raise KeyError(f"unknown check {name!r}; valid checks: {valid}") from None


def run_check(
    which: str | Checker,
    ctx: CheckContext,
    args: Mapping[str, Any] | BaseModel | None = None,
    *,
    label: str | None = None,
) -> CheckResult:
    """Run one check. Data problems (a missing state key, a failing expression) give an
    ``error`` result (not a violation) whose message names what is missing; a crashing checker
    too. Bad args raise ``pydantic.ValidationError``."""
    chk = which if isinstance(which, Checker) else get_checker(which)
    parsed = chk.parse_args(args)
    try:
        result = chk.func(ctx, parsed)
    except (CheckDataError, ExpressionError) as exc:
        result = _broken(chk.name, "evaluation failed", f"{chk.name}: {exc}")
    except Exception as exc:  # a checker bug must not stop a run or a daemon: fail loudly
        log.exception("checker %s crashed", chk.name)
        result = _broken(chk.name, "checker crashed", f"{chk.name} crashed: {exc!r}")
    if label:
        result.name = label
    return result


def _broken(name: str, observed: str, message: str) -> CheckResult:
    return CheckResult.error(
        name, "the check's inputs can be evaluated", message, observed=f"error: {observed}"
    )


def load_builtins() -> None:
    """Import every module of ``monitor.suites.checks.builtin`` (each registers its checkers)."""
    CHECKERS.load()
