"""``all_succeed`` / ``eventually_succeed`` / ``expected_outcomes``: outcomes of the ops.

An unknown op proves nothing: it is not a success. For ``expected_outcomes`` an unknown op could
have ended with any code, so counts pass when some assignment of the unknown ops fits them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable
from typing import Literal

from pydantic import Field, model_validator

from monitor.suites.checks.builtin.server_errors import status_summary
from monitor.suites.checks.context import CheckContext
from monitor.suites.checks.registry import CheckArgs, checker
from monitor.suites.checks.verdict import ops_evidence, plural, verdict
from monitor.suites.expressions.check_args import (
    CheckDataError,
    KindsArg,
    OpExprArg,
    Scope,
    hashable,
    select,
)
from monitor.suites.results import CheckResult
from monitor.suites.results.history import Op


class KindArgs(CheckArgs):
    kind: KindsArg | None = Field(None, description="operation kind(s); default: every op")
    where: OpExprArg | None = Field(None, description="only ops for which this is true")


def _ops(ctx: CheckContext, args: KindArgs) -> list[Op]:
    kind = args.kind
    ops = select(ctx, kind, args.where, Scope.of(ctx))
    if not ops:
        what = f"{', '.join(kind)} ops" if kind else "ops"
        raise CheckDataError(f"no {what} in the phase")
    return ops


def _codes(ops: list[Op]) -> str:
    return ", ".join(f"{c}: {n}" for c, n in Counter(op.code for op in ops).most_common())


@checker("all_succeed", args=KindArgs)
def all_succeed(ctx: CheckContext, args: KindArgs) -> CheckResult:
    """Every op (of the kinds) ended ok; unknown counts as not proven."""
    ops = _ops(ctx, args)
    bad = [op for op in ops if not op.ok]
    return verdict(
        "all_succeed",
        not bad,
        f"all {len(ops)} ok",
        f"{len(ops) - len(bad)} ok; {_codes(bad)}" if bad else f"all {len(ops)} ok",
        f"{plural(len(bad), 'op')} did not succeed" if bad else "",
        ops_evidence(bad),
    )


class EventuallyArgs(KindArgs):
    key: OpExprArg | None = Field(None, description="attempts of one logical op (default: the op)")
    within_s: float | None = Field(None, gt=0, description="success within s of the 1st attempt")


@checker("eventually_succeed", args=EventuallyArgs)
def eventually_succeed(ctx: CheckContext, args: EventuallyArgs) -> CheckResult:
    """Every logical op (attempts grouped by key) has an ok attempt, within ``within_s``."""
    scope = Scope.of(ctx)
    groups: dict[Hashable, list[Op]] = {}
    for op in _ops(ctx, args):
        key = hashable(args.key.eval(scope.for_op(op))) if args.key else op.id
        groups.setdefault(key, []).append(op)
    bad: list[Op] = []
    for attempts in groups.values():
        first = min(op.invoked_at for op in attempts)
        ok = [
            op
            for op in attempts
            if op.ok
            and (args.within_s is None or (op.completed_at or math.inf) - first <= args.within_s)
        ]
        if not ok:
            bad += attempts
    failed_groups = sum(1 for attempts in groups.values() if all(op in bad for op in attempts))
    limit = f" within {args.within_s} s" if args.within_s else ""
    return verdict(
        "eventually_succeed",
        not bad,
        f"each of {plural(len(groups), 'operation')} succeeds{limit}",
        f"{len(groups) - failed_groups} of {len(groups)} succeeded{limit}",
        f"{plural(failed_groups, 'operation')} never succeeded{limit}" if bad else "",
        ops_evidence(bad),
    )


class Bounds(CheckArgs):
    min: int = Field(0, ge=0, description="fewest ops with this code")
    max: int | None = Field(None, ge=0, description="most ops with this code (default: any)")

    @model_validator(mode="after")
    def _ordered(self) -> Bounds:
        if self.max is not None and self.max < self.min:
            raise ValueError(f"max ({self.max}) is below min ({self.min})")
        return self


class ExpectedOutcomesArgs(KindArgs):
    counts: dict[str, int | Bounds] = Field(description="canonical code → n or {min, max}")
    exact: bool = Field(True, description="no other codes allowed")
    server_errors: Literal["refuse", "fit"] = Field(
        "refuse",
        description="refuse: a 5xx answer (even one the profile marks unknown) fails the check "
        "and never stands in for an expected outcome; fit: unknown 5xx answers may fill the "
        "counts like timeouts do. Default: refuse",
    )


REFUSED = "refused"


def _fit_refused(
    known: list[Op], bounds: dict[str, tuple[int, int | None]]
) -> tuple[list[Op], Counter[str], list[Op]]:
    """A generic ``refused`` answer (a service whose refusals all look alike) stands for any
    expected refusal code: it fills the non-ok counts (their minimums first, then up to their
    maximums). Returns the ops left to count, the counts with the refusals fitted, and the
    refusals that fit nowhere."""
    if REFUSED in bounds:
        return known, Counter(op.code for op in known), []
    refused = [op for op in known if op.code == REFUSED]
    rest = [op for op in known if op.code != REFUSED]
    seen = Counter(op.code for op in rest)
    left = len(refused)
    refusals = [(c, lo, hi) for c, (lo, hi) in bounds.items() if c != "ok"]
    for code, low, _ in refusals:
        take = min(left, max(0, low - seen[code]))
        seen[code] += take
        left -= take
    for code, _, high in refusals:
        room = left if high is None else max(0, high - seen[code])
        take = min(left, room)
        seen[code] += take
        left -= take
    return rest, seen, refused[len(refused) - left :] if left else []


@checker("expected_outcomes", args=ExpectedOutcomesArgs)
def expected_outcomes(ctx: CheckContext, args: ExpectedOutcomesArgs) -> CheckResult:
    """Counts per canonical code (e.g. exactly 1 ok and 4 already_claimed), unknowns fitted."""
    ops = _ops(ctx, args)
    fivexx = [op for op in ops if op.server_error] if args.server_errors == "refuse" else []
    fivexx_ids = {op.id for op in fivexx}
    counted = [op for op in ops if op.id not in fivexx_ids]
    known = [op for op in counted if not op.unknown]
    unknown = [op for op in counted if op.unknown]
    bounds = {c: (b, b) if isinstance(b, int) else (b.min, b.max) for c, b in args.counts.items()}
    answered = known
    known, seen, stray = _fit_refused(known, bounds)
    problems: list[str] = []
    culprits: list[Op] = list(fivexx)
    if fivexx:
        problems.append(
            f"{plural(len(fivexx), 'server error')} ({status_summary(fivexx)}) cannot count "
            "as expected outcomes"
        )
    for code, (_, high) in bounds.items():
        if high is not None and seen[code] > high:
            problems.append(f"{seen[code]} {code} (at most {high})")
            culprits += [op for op in known if op.code == code]
    others = [op for op in known if op.code not in bounds] + stray
    if args.exact and others:
        problems.append(f"unexpected codes: {_codes(others)}")
        culprits += others
    need = sum(max(0, low - seen[c]) for c, (low, _) in bounds.items())
    room = (
        math.inf
        if not args.exact or any(h is None for _, h in bounds.values())
        else sum(max(0, (h or 0) - seen[c]) for c, (_, h) in bounds.items())
    )
    if len(problems) == len(fivexx[:1]) and not need <= len(unknown) <= room:
        short = [
            f"{seen[c]} {c} (at least {low})" for c, (low, _) in bounds.items() if seen[c] < low
        ]
        problems.append(
            ", ".join(short) or f"{plural(len(unknown), 'unknown op')} fit no expected code"
        )
        culprits += known if not short else []
    expected = ", ".join(
        f"{c}: {lo}" if lo == hi else f"{c}: {lo}..{'' if hi is None else hi}"
        for c, (lo, hi) in bounds.items()
    )
    observed = "; ".join(
        part
        for part in (
            _codes(answered),
            f"unknown: {len(unknown)}" if unknown else "",
            f"server errors: {len(fivexx)}" if fivexx else "",
        )
        if part
    )
    return verdict(
        "expected_outcomes",
        not problems,
        expected + ("" if args.exact else " (others allowed)"),
        observed or "no ops",
        "; ".join(problems),
        ops_evidence(list({op.id: op for op in culprits + unknown}.values())),
    )
