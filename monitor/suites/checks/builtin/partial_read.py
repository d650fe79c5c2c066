"""``no_partial_read``: concurrent reads of a multi-part object see before or complete after.

``replace`` mode: a read shows the before-state or the complete write of one writer (Top3
``task_ids``). ``add`` mode (numeric): before + the sum of any subset of the writes (a grant of
quantity q is all or nothing). Writers that ended ok or unknown count; failed ones never.
"""

from __future__ import annotations

from collections.abc import Hashable
from fractions import Fraction
from typing import Any, Literal

from pydantic import Field

from monitor.suites.checks.context import CheckContext
from monitor.suites.checks.registry import CheckArgs, checker
from monitor.suites.checks.subsets import subset_sums
from monitor.suites.checks.verdict import plural, verdict
from monitor.suites.expressions.cel import show
from monitor.suites.expressions.check_args import (
    CheckDataError,
    KindsArg,
    OpExprArg,
    RefArg,
    Scope,
    hashable,
    number,
    resolve,
    select,
)
from monitor.suites.results import CheckResult


class PartialReadArgs(CheckArgs):
    kind: KindsArg = Field(description="reader ops polled during the phase")
    value: OpExprArg = Field(description="the multi-part value one read saw (expression over op)")
    before: RefArg = Field(description="the value before the phase (literal or expression)")
    writes: KindsArg = Field(description="writer ops")
    after: OpExprArg = Field(description="what one write makes the value (replace) or adds (add)")
    mode: Literal["replace", "add"] = "replace"
    unordered: bool = Field(True, description="compare lists as multisets")
    where: OpExprArg | None = Field(None, description="only reads for which this is true")
    match: OpExprArg | None = Field(
        None,
        description="compare a read only with writes of the same value of this (e.g. args.date)",
    )


def _norm(value: Any, unordered: bool) -> Any:
    if isinstance(value, list | tuple):
        items = [_norm(v, unordered) for v in value]
        return tuple(sorted(items, key=repr)) if unordered else tuple(items)
    return hashable(value)


def _allowed(args: PartialReadArgs, before: Any, afters: list[Any]) -> tuple[set[Any] | None, str]:
    """The values a read may see given these writes (None: too many to enumerate), and how to
    say so."""
    if args.mode == "replace":
        shown = " or ".join(show(v) for v in [before, *afters][:4])
        return {_norm(v, args.unordered) for v in [before, *afters]}, shown
    base = Fraction(number(before, "before"))
    sums = subset_sums([number(a, f"{args.after}") for a in afters])
    some = ", ".join(map(str, afters[:6]))
    shown = f"{before} + any subset of {plural(len(afters), 'write')} ({some})"
    return (None if sums is None else {base + s for s in sums}), shown


@checker("no_partial_read", args=PartialReadArgs)
def no_partial_read(ctx: CheckContext, args: PartialReadArgs) -> CheckResult:
    """Each read is the before-state or a complete after-state, never a partial write."""
    scope = Scope.of(ctx)
    before = resolve(args.before, scope)
    groups: dict[Hashable, list[Any]] = {}
    for op in ctx.history.by_kind(*args.writes):
        if not op.failed:
            op_scope = scope.for_op(op)
            key = hashable(args.match.eval(op_scope)) if args.match else None
            groups.setdefault(key, []).append(args.after.eval(op_scope))
    cache: dict[Hashable, tuple[set[Any] | None, str]] = {}
    evidence: list[str] = []
    reads = [op for op in select(ctx, args.kind, args.where, scope) if op.ok]
    if not reads:
        raise CheckDataError(f"no ok {', '.join(args.kind)} read during the phase")
    intermediate = 0
    for op in reads:
        op_scope = scope.for_op(op)
        key = hashable(args.match.eval(op_scope)) if args.match else None
        if key not in cache:
            cache[key] = _allowed(args, before, groups.get(key, []))
        allowed, _ = cache[key]
        seen = args.value.eval(op_scope)
        if allowed is None:
            continue  # too many writes to enumerate: accept (no false alarm)
        if args.mode == "add":
            ok = Fraction(number(seen, f"{args.value} of op#{op.id}")) in allowed
        else:
            ok = _norm(seen, args.unordered) in allowed
        if not ok:
            evidence.append(f"{op.describe()}: saw {show(seen)}")
        elif _norm(seen, args.unordered) != _norm(before, args.unordered):
            intermediate += 1
    shown = "; ".join(text for _, text in list(cache.values())[:3])
    return verdict(
        "no_partial_read",
        not evidence,
        f"each read is {shown}" + (f" (for its {args.match})" if args.match else ""),
        f"{plural(len(reads), 'read')}: {len(reads) - intermediate - len(evidence)} before, "
        f"{intermediate} after, {len(evidence)} partial",
        f"{plural(len(evidence), 'read')} saw a partial write" if evidence else "",
        evidence,
    )
