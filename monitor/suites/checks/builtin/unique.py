"""``unique_per_key``: records grouped by a key hold at most ``max`` each.

Records come from the state read back (``items``: one Top3 per date, one gift per user) or from
the values of ok ops (``kind`` + ``value``: every created task got a distinct id).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from typing import Any

from pydantic import Field, model_validator

from monitor.suites.checks.context import CheckContext
from monitor.suites.checks.registry import CheckArgs, checker
from monitor.suites.checks.verdict import cap, plural, verdict
from monitor.suites.expressions.cel import show
from monitor.suites.expressions.check_args import (
    ExprArg,
    ItemExprArg,
    KindsArg,
    OpExprArg,
    Scope,
    as_list,
    hashable,
    select,
)
from monitor.suites.results import CheckResult


class UniqueArgs(CheckArgs):
    items: ExprArg | None = Field(None, description="records read back (a list)")
    kind: KindsArg | None = Field(None, description="or: take the values of these ok ops")
    value: OpExprArg = Field("value", validate_default=True, description="record of an op")
    where: OpExprArg | None = Field(None, description="with kind: only ops for which this is true")
    key: ItemExprArg = Field(description="the key of one record (`item`), e.g. item.id")
    max: int = Field(1, ge=1, description="records allowed per key")

    @model_validator(mode="after")
    def _one_source(self) -> UniqueArgs:
        if (self.items is None) == (self.kind is None):
            raise ValueError("give exactly one of 'items' (state) or 'kind' (ops)")
        return self


@checker("unique_per_key", args=UniqueArgs)
def unique_per_key(ctx: CheckContext, args: UniqueArgs) -> CheckResult:
    """Records grouped by key have at most ``max`` each."""
    scope = Scope.of(ctx)
    records: list[tuple[str, Any]] = []
    if args.items is not None:
        for i, item in enumerate(as_list(args.items.eval(scope), str(args.items))):
            records.append((f"{args.items}[{i}]", item))
        source = str(args.items)
    else:
        assert args.kind is not None
        for op in select(ctx, args.kind, args.where, scope):
            if not op.ok:
                continue
            records.append((op.describe(), args.value.eval(scope.for_op(op))))
        source = f"ok {', '.join(args.kind)} ops"
    groups: dict[Hashable, list[tuple[str, Any]]] = defaultdict(list)
    for where, item in records:
        groups[hashable(args.key.eval(scope.for_item(item)))].append((where, item))
    dupes = {k: v for k, v in groups.items() if len(v) > args.max}
    evidence = [
        f"key {show(key)}: {where}: {show(item)}" for key, v in dupes.items() for where, item in v
    ]
    return verdict(
        "unique_per_key",
        not dupes,
        f"at most {args.max} per {args.key} among {source}",
        f"{plural(len(records), 'record')}, {plural(len(groups), 'distinct key')}"
        + (f", {plural(len(dupes), 'duplicated key')}" if dupes else ""),
        "; ".join(f"{show(k)} ×{len(v)}" for k, v in list(dupes.items())[:5]) or "keys are unique",
        cap(evidence),
    )
