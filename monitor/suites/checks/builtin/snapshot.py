"""``snapshot_consistent``: every (balance, transaction_count) read is a committed snapshot.

The ledger read back after the phase gives the commit order; a consistent read of
``(balance, count)`` equals the sum of the first ``count`` ledger entries. A skewed snapshot (two
transactions) or a dirty read (an uncommitted balance) breaks it; a dirty value is also reported
as never committed when no prefix of the ledger sums to it.
"""

from __future__ import annotations

from itertools import accumulate
from typing import Literal

from pydantic import Field

from monitor.suites.checks.context import CheckContext
from monitor.suites.checks.registry import CheckArgs, checker
from monitor.suites.checks.subsets import explain
from monitor.suites.checks.verdict import plural, verdict
from monitor.suites.expressions.check_args import (
    ExprArg,
    ItemExprArg,
    KindsArg,
    OpExprArg,
    Scope,
    as_list,
    number,
    select,
)
from monitor.suites.results import CheckResult


class SnapshotArgs(CheckArgs):
    kind: KindsArg = Field(("points.balance",), validate_default=True, description="reader ops")
    balance: OpExprArg = Field("value.balance", validate_default=True, description="read balance")
    count: OpExprArg = Field(
        "value.transaction_count", validate_default=True, description="read transaction count"
    )
    ledger: ExprArg = Field(description="ledger rows read back after the phase (a list)")
    where: OpExprArg | None = Field(None, description="only reads for which this is true")
    amount: ItemExprArg = Field("item.amount", validate_default=True, description="row amount")
    order: Literal["newest_first", "oldest_first", "any"] = Field(
        "newest_first",
        description="ledger order (commit order reversed, as the reference API lists it); "
        "'any': only require some `count` rows to sum to the balance",
    )


@checker("snapshot_consistent", args=SnapshotArgs)
def snapshot_consistent(ctx: CheckContext, args: SnapshotArgs) -> CheckResult:
    """Each read (balance, count) equals the sum of the first `count` committed ledger entries."""
    scope = Scope.of(ctx)
    rows = as_list(args.ledger.eval(scope), str(args.ledger))
    amounts = [
        number(args.amount.eval(scope.for_item(row)), f"ledger row {i} amount")
        for i, row in enumerate(rows)
    ]
    if args.order == "newest_first":
        amounts.reverse()
    prefix = [0, *accumulate(amounts)]
    committed = set(prefix)
    evidence: list[str] = []
    reads = [op for op in select(ctx, args.kind, args.where, scope) if op.ok]
    for op in reads:
        op_scope = scope.for_op(op)
        balance = number(args.balance.eval(op_scope), f"{args.balance} of op#{op.id}")
        count = number(args.count.eval(op_scope), f"{args.count} of op#{op.id}")
        if not float(count).is_integer() or not 0 <= count <= len(amounts):
            evidence.append(
                f"{op.describe()}: transaction_count {count} but the ledger has {len(amounts)} rows"
            )
            continue
        n = int(count)
        if args.order == "any":
            indexed = list(enumerate(amounts))
            if not explain(balance, indexed, size=n).found:
                evidence.append(f"{op.describe()}: no {n} ledger rows sum to balance {balance}")
            continue
        if balance != prefix[n]:
            never = "" if balance in committed else "; that balance was never committed"
            evidence.append(
                f"{op.describe()}: balance {balance} with transaction_count {n}, but the first "
                f"{n} ledger entries sum to {prefix[n]}{never}"
            )
    if not reads:
        evidence.append(f"no ok {', '.join(args.kind)} read during the phase")
    return verdict(
        "snapshot_consistent",
        not evidence,
        f"each read balance == sum of its first transaction_count ledger entries ({args.order})",
        f"{plural(len(reads), 'read')}, {plural(len(evidence), 'inconsistent read')}",
        f"{plural(len(evidence), 'read')} inconsistent with the ledger" if evidence else "",
        evidence,
    )
