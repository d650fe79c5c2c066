"""What a probe's records mean: the findings, computed from data alone (pure).

A repeat probe compares N identical concurrent requests with the same request sent twice in a
row (the baseline): whatever order the service serialises the N requests in, the first behaves
like the baseline's first and every other one like its second. So: a 5xx is a finding; when the
repeat was refused, more than one success is one (phantom successes, or duplicates accepted);
and every measure the baseline moved (list lengths, items matching the payload, counters, the
resource's existence) must move as the successes allow — by the first effect once when a
repeat has no effect, by one effect per success when each has one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

FindingKind = Literal["server_error", "duplicates", "phantom", "lost_update", "counter_drift"]
KIND_TITLES: Mapping[str, str] = {
    "server_error": "server error under concurrency",
    "duplicates": "more resources created than a unique payload allows",
    "phantom": "phantom successes (more 2xx answers than effects)",
    "lost_update": "lost update (a final state no successful write produced)",
    "counter_drift": "counter drifted from the rows it counts",
}
EXCERPT = 300


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer, as the findings need it."""

    status: int | None  # None: no HTTP answer
    text: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def server_error(self) -> bool:
        return self.status is not None and self.status >= 500

    @property
    def refused(self) -> bool:
        return self.status is not None and 400 <= self.status < 500

    def excerpt(self) -> str:
        text = " ".join(self.text.split())
        return text[:EXCERPT] + ("…" if len(text) > EXCERPT else "")


@dataclass(frozen=True, slots=True)
class Finding:
    kind: FindingKind
    operation: str
    request: str
    message: str
    evidence: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return KIND_TITLES[self.kind]


@dataclass(slots=True)
class RepeatRecord:
    """Everything a repeat probe saw."""

    operation: str
    request: str
    baseline: list[Answer]  # the same request twice in a row
    before: list[dict[str, float]]  # measures before, after 1st, after 2nd baseline request
    concurrent: list[Answer] = field(default_factory=list)
    around: list[dict[str, float]] = field(default_factory=list)  # measures before / after
    still: dict[str, float] | None = None  # the measures read again before any write

    def volatile(self) -> set[str]:
        """Measures that moved between two reads with no write between them (a clock, an
        uptime, a random value): no write explains their moves, so none are judged."""
        if self.still is None or not self.before:
            return set()
        first = self.before[0]
        return {k for k in first.keys() | self.still.keys() if first.get(k) != self.still.get(k)}


def _statuses(answers: Iterable[Answer]) -> str:
    counts: dict[str, int] = {}
    for a in answers:
        key = str(a.status) if a.status is not None else f"no answer ({a.error})"
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{n}× {k}" for k, n in sorted(counts.items()))


def server_errors(operation: str, request: str, answers: list[Answer]) -> list[Finding]:
    bad = [a for a in answers if a.server_error]
    if not bad:
        return []
    samples = list(dict.fromkeys(f"HTTP {a.status}: {a.excerpt() or '(empty body)'}" for a in bad))
    return [
        Finding(
            "server_error",
            operation,
            request,
            f"{len(bad)} of {len(answers)} concurrent identical requests answered 5xx "
            f"({_statuses(answers)})",
            tuple(samples[:3]),
        )
    ]


def _deltas(a: Mapping[str, float], b: Mapping[str, float]) -> dict[str, float]:
    return {k: b[k] - a[k] for k in a.keys() & b.keys()}


def repeat_findings(rec: RepeatRecord) -> list[Finding]:
    """The findings of one repeat probe (see the module docstring)."""
    out = server_errors(rec.operation, rec.request, rec.concurrent)
    alone = [a for a in rec.baseline if a.server_error]
    if alone:  # not a race: the request fails on its own
        out.insert(0, Finding(
            "server_error",
            rec.operation,
            rec.request,
            f"the request sent alone answered {alone[0].status} (not a race: it fails on its own)",
            (f"HTTP {alone[0].status}: {alone[0].excerpt() or '(empty body)'}",),
        ))  # fmt: skip
    first, second = rec.baseline
    if not first.ok or len(rec.before) < 3 or len(rec.around) < 2:
        return out
    oks = sum(a.ok for a in rec.concurrent)
    unknown = sum(a.server_error or a.status is None for a in rec.concurrent)
    shown = f"{len(rec.concurrent)} concurrent answers: {_statuses(rec.concurrent)}"
    base = f"in a row, the same request answered {first.status} then {second.status}"
    e1 = _deltas(rec.before[0], rec.before[1])
    e2 = _deltas(rec.before[1], rec.before[2])
    moved = _deltas(rec.around[0], rec.around[1])
    once = second.refused
    volatile = rec.volatile()
    wrong: list[tuple[str, float, float, float]] = []  # key, observed, low, high
    for key, first_effect in sorted(e1.items()):
        if first_effect == 0 or key not in e2 or key not in moved or key in volatile:
            continue
        if e2[key] == 0:
            low = first_effect * min(oks, 1)
            high = first_effect * min(oks + unknown, 1) if not once else first_effect
        elif e2[key] == first_effect and not once:
            low, high = first_effect * oks, first_effect * (oks + unknown)
        else:
            continue
        low, high = min(low, high), max(low, high)
        if not low <= moved[key] <= high:
            wrong.append((key, moved[key], low, high))
    if once and oks > 1:
        effects = [moved[k] / e1[k] for k in e1 if e1[k] and k in moved and k not in volatile]
        most = max((abs(e) for e in effects), default=0.0)
        kind: FindingKind = "phantom" if most <= 1 else "duplicates"
        out.append(
            Finding(
                kind,
                rec.operation,
                rec.request,
                f"{oks} of {len(rec.concurrent)} identical requests succeeded, but {base}: "
                f"at most one may succeed"
                + (
                    " — and only one took effect"
                    if kind == "phantom" and effects
                    else " — no read-back shows their effect (duplicates or phantoms)"
                    if kind == "phantom"
                    else f" — and {most:g} took effect"
                ),
                (shown, *[f"{k}: moved by {v:g}" for k, v, *_ in wrong][:4]),
            )
        )
    elif wrong:
        key, seen, low, high = wrong[0]
        counters = [k for k, *_ in wrong if not k.endswith(("#len", "#match", "#exists"))]
        rows = [k for k in e1 if k.endswith(("#len", "#match")) and k not in {w[0] for w in wrong}]
        drift = bool(counters) and bool(rows)
        expect = f"{low:g}" if low == high else f"{low:g}..{high:g}"
        if drift:
            kind = "counter_drift"
        elif seen > high:
            kind = "duplicates"  # more effects than the successes allow
        else:
            kind = "lost_update" if e2.get(key) == e1.get(key) else "phantom"
        out.append(
            Finding(
                kind,
                rec.operation,
                rec.request,
                f"{key} moved by {seen:g} where the successes allow {expect} ({base})",
                (
                    shown,
                    *[f"{k}: moved by {v:g}, allowed {lo:g}..{hi:g}" for k, v, lo, hi in wrong][:4],
                ),
            )
        )
    return out


@dataclass(slots=True)
class UpdateGroup:
    """Requests that write the same ``fields`` (all fired together with the other groups)."""

    fields: dict[str, Any]
    answers: list[Answer] = field(default_factory=list)


def update_findings(
    operation: str,
    request: str,
    groups: list[UpdateGroup],
    original: Mapping[str, Any],
    final: Mapping[str, Any],
    *,
    partial: bool,
) -> list[Finding]:
    """Lost updates: the final state must be one some order of the successful writes leaves.

    ``partial`` (PATCH writing only the fields sent): each field reads the value of a
    successful write to it, or its original value when none succeeded. Otherwise every field
    reads the values of one successful write (a whole-body replace)."""
    answers = [a for g in groups for a in g.answers]
    out = server_errors(operation, request, answers)
    ok_groups = [g for g in groups if any(a.ok for a in g.answers)]
    unknown_groups = [g for g in groups if any(a.server_error for a in g.answers)]
    if not ok_groups:
        return out
    lost: list[str] = []
    if partial:
        for name in sorted({k for g in groups for k in g.fields}):
            if name not in final:
                continue
            allowed = [g.fields[name] for g in ok_groups + unknown_groups if name in g.fields]
            if not [g for g in ok_groups if name in g.fields]:
                allowed.append(original.get(name))
            if final[name] not in allowed:
                shown = ", ".join(dict.fromkeys(json.dumps(v) for v in allowed))
                lost.append(f"{name} reads {json.dumps(final[name])}; allowed: {shown}")
    else:
        fits = [
            g
            for g in ok_groups + unknown_groups
            if all(final.get(k) == v for k, v in g.fields.items() if k in final)
        ]
        if not fits:
            lost.append(f"the final state {json.dumps(dict(final))} is none of the bodies written")
    if lost:
        oks = sum(a.ok for a in answers)
        out.append(
            Finding(
                "lost_update",
                operation,
                request,
                f"{oks} of {len(answers)} concurrent updates succeeded, but the state read back "
                f"lost {len(lost)} of them",
                (f"{len(answers)} concurrent answers: {_statuses(answers)}", *lost[:4]),
            )
        )
    return out
