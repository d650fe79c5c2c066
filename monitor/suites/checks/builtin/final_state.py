"""Per-key final-state checks: ``idempotent_effect`` and ``last_write_wins``.

``idempotent_effect``: N identical requests (grouped by ``key``) leave at most one effect, at
least one when any of them succeeded; when each ok answer claims to have made the effect (a
delete that removed the row), more ok answers than effects are **phantom successes**.
``last_write_wins``: per key, the value read back is the one written by a last successful write
(no other successful write began after it completed). Jepsen-style: an unknown op may or may not
have taken effect, and may be the last write.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
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
    number,
    select,
)
from monitor.suites.results import CheckResult
from monitor.suites.results.history import History, Op


def _groups(ctx: CheckContext, kinds: tuple[str, ...], key: Any, where: Any) -> dict[str, list[Op]]:
    scope = Scope.of(ctx)
    ops = select(ctx, kinds, where, scope)
    if not ops:
        raise CheckDataError(f"no {', '.join(kinds)} ops in the phase")
    groups: dict[str, list[Op]] = {}
    for op in ops:
        k = "all" if key is None else _text(key.eval(scope.for_op(op)))
        groups.setdefault(k, []).append(op)
    return groups


def _text(value: Hashable | Any) -> str:
    value = hashable(value)
    return value if isinstance(value, str) else show(value)


def _per_key(value: Any, what: str, keys: list[str], keyed: bool) -> dict[str, Any]:
    if not keyed:
        return {"all": value}
    if not isinstance(value, Mapping):
        raise CheckDataError(
            f"{what} must be a map from key to value (with `key`), got {show(value)}"
        )
    found = {str(k): v for k, v in value.items()}
    missing = [k for k in keys if k not in found]
    if missing:
        shown = ", ".join(sorted(found)[:5]) or "none"
        raise CheckDataError(f"{what} has no entry for key {missing[0]!r} (keys: {shown})")
    return found


def _phantoms(n: int) -> str:
    return f"{n} phantom success" + ("" if n == 1 else "es")


class IdempotentArgs(CheckArgs):
    kind: KindsArg = Field(description="the identical requests")
    effects: ExprArg = Field(
        description="effects observed in the state read back: a number, or (with `key`) a map "
        "key -> number, e.g. `state.before.favoritesCount - state.after.favoritesCount`"
    )
    key: OpExprArg | None = Field(None, description="groups requests meant as one (default: all)")
    where: OpExprArg | None = Field(None, description="only ops for which this is true")
    ok_claims_effect: bool = Field(
        True,
        description="each ok answer claims it made the effect (create, delete): more ok answers "
        "than effects are phantom successes. false for answers that only report the state "
        "(a repeated follow answering `following: true`). Default: true",
    )


@checker("idempotent_effect", args=IdempotentArgs)
def idempotent_effect(ctx: CheckContext, args: IdempotentArgs) -> CheckResult:
    """N identical requests → one effect; ok answers claiming an effect that did not happen are
    phantom successes."""
    groups = _groups(ctx, args.kind, args.key, args.where)
    effects = _per_key(
        args.effects.eval(Scope.of(ctx)), str(args.effects), list(groups), bool(args.key)
    )
    problems: list[str] = []
    culprits: list[Op] = []
    phantoms = 0
    for k, ops in groups.items():
        n = number(effects[k], f"effects of {k!r}")
        ok = [op for op in ops if op.ok]
        unknown = [op for op in ops if op.unknown]
        label = "" if args.key is None else f"{k}: "
        if n > 1:
            problems.append(f"{label}{n:g} effects from {plural(len(ops), 'identical request')}")
            culprits += ok + unknown
        elif args.ok_claims_effect and len(ok) > n:
            extra = len(ok) - int(n)
            phantoms += extra
            problems.append(
                f"{label}{_phantoms(extra)}: {plural(len(ok), 'ok answer')} "
                f"claim{'s' if len(ok) == 1 else ''} an effect, {n:g} happened"
            )
            culprits += ok
        elif ok and n < 1:
            problems.append(f"{label}{len(ok)} ok but no effect")
            culprits += ok
        elif n >= 1 and not ok and not unknown:
            problems.append(f"{label}an effect although every request failed")
            culprits += ops
    total = sum(len(v) for v in groups.values())
    return verdict(
        "idempotent_effect",
        not problems,
        f"one effect per {'key' if args.key else 'group'} of identical requests"
        + ("; no ok answer without its effect" if args.ok_claims_effect else ""),
        "; ".join(problems) if problems else f"{total} requests, one effect each group",
        _phantoms(phantoms) if phantoms else "; ".join(problems[:1]),
        ops_evidence(culprits),
    )


class LastWriteArgs(CheckArgs):
    kind: KindsArg = Field(description="the writes (e.g. [favorites.add, favorites.remove])")
    written: OpExprArg = Field(
        description="the value one write leaves, e.g. `kind == 'favorites.add'`"
    )
    final: ExprArg = Field(
        description="the value read back: with `key`, a map key -> value (a per-member "
        "read-back step with `key: ${member.name}` saves one)"
    )
    value: ItemExprArg | None = Field(
        None, description="the value within one read-back entry `item`, e.g. `item.favorited`"
    )
    key: OpExprArg | None = Field(None, description="what a write writes to (default: one key)")
    initial: Any = Field(None, description="the value before any write (a key may keep it)")
    where: OpExprArg | None = Field(None, description="only ops for which this is true")


def _candidates(ops: list[Op]) -> list[Op]:
    """Writes that may be the last: ok or unknown, and no ok write began after they ended."""
    live = [op for op in ops if not op.failed]
    return [op for op in live if not any(History.precedes(op, later) for later in live if later.ok)]


@checker("last_write_wins", args=LastWriteArgs)
def last_write_wins(ctx: CheckContext, args: LastWriteArgs) -> CheckResult:
    """Per key, the state read back is the value of a last successful (or unknown) write."""
    groups = _groups(ctx, args.kind, args.key, args.where)
    final = _per_key(args.final.eval(Scope.of(ctx)), str(args.final), list(groups), bool(args.key))
    scope = Scope.of(ctx)
    bad: list[str] = []
    culprits: list[Op] = []
    for k, ops in groups.items():
        candidates = _candidates(ops)
        allowed = [hashable(args.written.eval(scope.for_op(op))) for op in candidates]
        if not any(op.ok for op in ops):
            allowed.append(hashable(args.initial))
        seen = final[k] if args.value is None else args.value.eval(scope.for_item(final[k]))
        if hashable(seen) not in allowed:
            shown = ", ".join(sorted({show(v) for v in allowed}))
            label = "" if args.key is None else f"{k}: "
            bad.append(f"{label}read back {show(seen)}, a last write left {shown}")
            culprits += [op for op in ops if not op.failed]
    return verdict(
        "last_write_wins",
        not bad,
        "per key, the value of a last successful write",
        f"{plural(len(bad), 'key')} with another value"
        if bad
        else f"{len(groups)} keys as written",
        "; ".join(bad[:3]) + (f" … and {len(bad) - 3} more" if len(bad) > 3 else ""),
        cap([*bad, *ops_evidence(culprits)]),
    )
