"""``conservation``: a balance equals its initial value plus the effects of effective ops.

Every ok op's effect must be there; any subset of the UNKNOWN ops may be (subset-sum, exact for
small sets, a sound bound for huge ones). Optionally the ledger read back must sum to the balance
and hold one row per effective op.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from monitor.suites.checks.context import CheckContext
from monitor.suites.checks.registry import CheckArgs, checker
from monitor.suites.checks.subsets import explain
from monitor.suites.checks.verdict import ops_evidence, plural, verdict
from monitor.suites.expressions.check_args import (
    Expr,
    ExprArg,
    ItemExprArg,
    OpExprArg,
    OpRefArg,
    RefArg,
    Scope,
    as_list,
    hashable,
    matches,
    number,
    resolve,
)
from monitor.suites.results import CheckResult
from monitor.suites.results.history import Op


class Effect(CheckArgs):
    """How one operation kind changes the value."""

    kind: str = Field(description="operation kind, e.g. points.deduct")
    amount: OpRefArg = Field(description="change per op: a number or an expression over the op")
    where: OpExprArg | None = Field(None, description="only ops for which this is true")


class ConservationArgs(CheckArgs):
    value: ExprArg = Field(description="the value read back, e.g. state.final.balance")
    initial: RefArg = Field(0, description="the value before the phase (number or expression)")
    effects: list[Effect] | dict[str, OpRefArg] = Field(
        description="per kind: a list of {kind, amount, where?}, or a map {kind: amount}"
    )
    ledger: ExprArg | None = Field(None, description="ledger rows read back (list); optional")
    ledger_amount: ItemExprArg = Field(
        "item.amount", validate_default=True, description="amount of one ledger row"
    )
    ledger_baseline_rows: RefArg | None = Field(
        None, description="ledger rows before the phase; enables the row-count check"
    )
    returns: OpExprArg | None = Field(
        None,
        description="the value an ok op reports after itself (e.g. value.balance): on failure, "
        "ok ops reporting the same value name the lost update",
    )

    @property
    def rules(self) -> list[Effect]:
        """The effects as a list of rules (the map form expanded)."""
        if isinstance(self.effects, dict):
            return [Effect(kind=k, amount=v) for k, v in self.effects.items()]
        return self.effects


def _effect(op: Op, args: ConservationArgs, scope: Scope) -> int | float | None:
    """The op's total effect, or None when no rule applies to it."""
    total: int | float | None = None
    op_scope = scope.for_op(op)
    for rule in args.rules:
        if rule.kind == op.kind and matches(rule.where, op_scope):
            amount = number(resolve(rule.amount, op_scope), f"amount of op#{op.id}")
            total = amount if total is None else total + amount
    return total


def _same_results(ok: list[tuple[Op, int | float]], returns: Expr, scope: Scope) -> list[str]:
    """With effects all of one sign, every ok op must report a distinct value after itself;
    two reporting the same one means one overwrote the other."""
    if not ok or not (all(e > 0 for _, e in ok) or all(e < 0 for _, e in ok)):
        return []
    seen: dict[Any, list[Op]] = {}
    for op, _ in ok:
        seen.setdefault(hashable(returns.eval(scope.for_op(op))), []).append(op)
    return [
        f"{' and '.join(f'op#{op.id}' for op in ops)} all reported {returns} = {value}: "
        f"{plural(len(ops) - 1, 'update')} lost"
        for value, ops in seen.items()
        if len(ops) > 1
    ]


@checker("conservation", args=ConservationArgs)
def conservation(ctx: CheckContext, args: ConservationArgs) -> CheckResult:
    """Final value == initial + Σ ok effects ± any subset of unknown effects (and the ledger)."""
    scope = Scope.of(ctx)
    observed = number(args.value.eval(scope), str(args.value))
    initial = number(resolve(args.initial, scope), "initial")
    kinds = {rule.kind for rule in args.rules}
    ok: list[tuple[Op, int | float]] = []
    unknown: list[tuple[Op, int | float]] = []
    for op in ctx.history.by_kind(*kinds):
        if op.failed:
            continue
        effect = _effect(op, args, scope)
        if effect is not None:
            (ok if op.ok else unknown).append((op, effect))
    ok_sum = sum(e for _, e in ok)
    expected_value = initial + ok_sum
    problems: list[str] = []
    evidence = [f"read {args.value} = {observed}"]

    size = None
    if args.ledger is not None:
        rows = as_list(args.ledger.eval(scope), str(args.ledger))
        ledger_sum = sum(
            number(args.ledger_amount.eval(scope.for_item(row)), f"ledger row {i} amount")
            for i, row in enumerate(rows)
        )
        evidence.append(f"ledger read back: {plural(len(rows), 'row')} summing to {ledger_sum}")
        if ledger_sum != observed:
            problems.append(f"ledger sums to {ledger_sum} but {args.value} is {observed}")
        if args.ledger_baseline_rows is not None:
            baseline = number(resolve(args.ledger_baseline_rows, scope), "ledger_baseline_rows")
            size = len(rows) - int(baseline) - len(ok)
            if not 0 <= size <= len(unknown):
                want = f"{int(baseline) + len(ok)}" + (
                    f"..{int(baseline) + len(ok) + len(unknown)}" if unknown else ""
                )
                problems.append(f"ledger has {len(rows)} rows, expected {want}")
                size = None

    found = explain(observed - expected_value, unknown, size=size)
    if not found.found:
        diff = observed - expected_value
        problems.append(
            f"{args.value} is {observed}, {abs(diff)} {'more' if diff > 0 else 'less'} than "
            f"initial {initial} + {plural(len(ok), 'ok op')} ({ok_sum:+})"
            + (
                f" and no subset of the {plural(len(unknown), 'unknown op')} explains it"
                if unknown
                else ""
            )
        )
    if problems and args.returns is not None:
        evidence += _same_results(ok, args.returns, scope)
    by_kind: dict[str, list[int | float]] = {}
    for op, e in ok:
        by_kind.setdefault(op.kind, []).append(e)
    evidence += [f"ok {k}: {len(v)} ops, total effect {sum(v):+}" for k, v in by_kind.items()]
    evidence += ops_evidence(op for op, _ in unknown)

    expected = f"{initial} + Σ {plural(len(ok), 'ok effect')} ({ok_sum:+}) = {expected_value}"
    if unknown:
        expected += f" ± any subset of {plural(len(unknown), 'unknown op')}"
    explained = ""
    if found.found and found.subset:
        explained = "; explained by unknown ops " + ", ".join(f"#{op.id}" for op in found.subset)
    elif found.found and not found.exact:
        explained = "; within the bounds of the unknown ops (too many to enumerate)"
    return verdict(
        "conservation",
        not problems,
        expected,
        f"{observed}{explained}",
        "; ".join(problems) or f"{args.value} is conserved",
        evidence,
    )


__all__ = ["ConservationArgs", "Effect", "conservation"]
