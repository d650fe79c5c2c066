"""``exactly_once`` / ``at_most_once`` / ``at_most``: effects in the state vs the ops behind them.

A logical operation is identified by ``key`` (e.g. the user for a welcome gift, the task id for a
completion bonus); by default every op is its own logical operation. Its effects are the items of
``observed`` (ledger rows with a reason, records, ...), counted overall or, with ``observed_key``,
per key. ok ops must be reflected (exactly once), failed ops never, unknown ops may be.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from monitor.suites.checks.context import CheckContext
from monitor.suites.checks.registry import CheckArgs, checker
from monitor.suites.checks.verdict import cap, ops_evidence, plural, verdict
from monitor.suites.expressions.cel import show
from monitor.suites.expressions.check_args import (
    CheckDataError,
    ExprArg,
    ItemExprArg,
    KindsArg,
    OpExprArg,
    Scope,
    hashable,
    matches,
)
from monitor.suites.results import CheckResult
from monitor.suites.results.history import Op


class OnceArgs(CheckArgs):
    kind: KindsArg
    observed: ExprArg = Field(description="effects read back: a list (counted) or a number")
    key: OpExprArg | None = Field(None, description="logical operation of an op (default: the op)")
    observed_key: ItemExprArg | None = Field(None, description="key of one observed item (`item`)")
    where: OpExprArg | None = Field(None, description="only ops for which this is true")
    per_op: int = Field(1, ge=1, description="effects one logical operation leaves")


class AtMostArgs(OnceArgs):
    n: int = Field(ge=0, description="the most effects allowed (overall, or per key)")


@dataclass(slots=True)
class _Keys:
    ok: dict[Hashable, list[Op]]
    unknown: dict[Hashable, list[Op]]  # keys with unknown ops but no ok op
    failed: dict[Hashable, list[Op]]  # keys with only failed ops


def _keys(ctx: CheckContext, args: OnceArgs, scope: Scope) -> _Keys:
    groups: dict[Hashable, list[Op]] = {}
    for op in ctx.history.by_kind(*args.kind):
        op_scope = scope.for_op(op)
        if not matches(args.where, op_scope):
            continue
        key = hashable(args.key.eval(op_scope)) if args.key is not None else f"op#{op.id}"
        groups.setdefault(key, []).append(op)
    keys = _Keys({}, {}, {})
    for key, ops in groups.items():
        if any(op.ok for op in ops):
            keys.ok[key] = ops
        elif any(op.unknown for op in ops):
            keys.unknown[key] = ops
        else:
            keys.failed[key] = ops
    return keys


def _observed(args: OnceArgs, scope: Scope) -> tuple[int, Counter[Hashable] | None, list[Any]]:
    value = args.observed.eval(scope)
    if isinstance(value, bool) or not isinstance(value, int | list | tuple):
        raise CheckDataError(f"{args.observed} must be a list or a count, got {show(value)}")
    if isinstance(value, int):
        if args.observed_key is not None:
            raise CheckDataError(f"{args.observed} is a count; observed_key needs a list")
        return value, None, []
    items = list(value)
    if args.observed_key is None:
        return len(items), None, items
    assert args.observed_key is not None
    per_key: Counter[Hashable] = Counter(
        hashable(args.observed_key.eval(scope.for_item(item))) for item in items
    )
    return len(items), per_key, items


def _run(ctx: CheckContext, args: OnceArgs, mode: str, n: int | None = None) -> CheckResult:
    scope = Scope.of(ctx)
    keys = _keys(ctx, args, scope)
    total, per_key, items = _observed(args, scope)
    per = args.per_op
    ok_n, unk_n = len(keys.ok), len(keys.unknown)
    problems: list[str] = []
    culprits: list[Op] = []

    if per_key is not None:
        for key, count in per_key.items():
            limit = n if mode == "at_most" else per
            ops = keys.ok.get(key) or keys.unknown.get(key) or keys.failed.get(key) or []
            if limit is not None and count > limit:
                problems.append(f"key {show(key)} has {count} effects (at most {limit})")
                culprits += ops
            elif mode != "at_most" and key not in keys.ok and key not in keys.unknown:
                what = "only failed ops" if key in keys.failed else "no op"
                problems.append(f"key {show(key)} has {count} effects but {what}")
                culprits += ops
        if mode == "exactly_once":
            for key, ops in keys.ok.items():
                if per_key.get(key, 0) < per:
                    problems.append(
                        f"ok key {show(key)} has {per_key.get(key, 0)} effects, not {per}"
                    )
                    culprits += [op for op in ops if op.ok]
    else:
        low = ok_n * per if mode == "exactly_once" else 0
        high = n if mode == "at_most" and n is not None else (ok_n + unk_n) * per
        if not low <= total <= high:
            bound = f"{low}..{high}" if low != high else f"{low}"
            problems.append(f"{total} effects observed, expected {bound}")
            culprits += [op for ops in keys.ok.values() for op in ops if op.ok]
            if total > high:
                culprits += [op for ops in keys.failed.values() for op in ops][:5]

    expected = {
        "exactly_once": f"each of {plural(ok_n, 'ok operation')} reflected exactly {per}×",
        "at_most_once": f"each operation reflected at most {per}× "
        f"(≤ {(ok_n + unk_n) * per} effects)",
        "at_most": f"at most {n} effects" + (" per key" if per_key is not None else ""),
    }[mode]
    if unk_n and mode == "exactly_once":
        expected += f"; {plural(unk_n, 'unknown operation')} may be reflected"
    observed = f"{plural(total, 'effect')} in {args.observed}"
    evidence = cap(f"observed item: {show(item)}" for item in items[: 10 if problems else 0])
    return verdict(
        mode,
        not problems,
        expected,
        observed,
        "; ".join(problems[:5]) or "effects match the operations",
        [*ops_evidence(_unique(culprits), limit=10), *evidence],
    )


def _unique(ops: list[Op]) -> list[Op]:
    return list({op.id: op for op in ops}.values())


@checker("exactly_once", args=OnceArgs)
def exactly_once(ctx: CheckContext, args: OnceArgs) -> CheckResult:
    """Each ok operation took effect exactly once; failed ops never; unknown ops at most once."""
    return _run(ctx, args, "exactly_once")


@checker("at_most_once", args=OnceArgs)
def at_most_once(ctx: CheckContext, args: OnceArgs) -> CheckResult:
    """No operation took effect more than once; failed ops never."""
    return _run(ctx, args, "at_most_once")


@checker("at_most", args=AtMostArgs)
def at_most(ctx: CheckContext, args: AtMostArgs) -> CheckResult:
    """At most ``n`` effects (overall, or per key with ``observed_key``)."""
    return _run(ctx, args, "at_most", args.n)
