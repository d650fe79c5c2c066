"""Detection statistics: how often a run catches each race fault of the reference target.

One *trial* runs the scenario that guards a fault against a fresh reference target (a process of
its own, a fresh database) and records whether the guarding check failed (``caught``), the run
held (``missed``), or something could not be evaluated (``error``, never counted as caught).
``tally`` turns trials into rates; ``table`` prints them the way the closing notes quote them.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.reference import RACE_FAULTS
from monitor.suites.loading.loader import LoadedSuite, load_profile, load_suite
from monitor.suites.loading.paths import builtin_profiles, builtin_suites
from monitor.suites.results import RunResult, ScenarioResult
from monitor.suites.run.attempts import AttemptPolicy
from monitor.suites.run.runner import RunOptions, run_suites
from tests.stats.fronts import Delivery
from tests.suites.builtin import builtin, problems
from tests.suites.wallet_server import wallet_server

PROFILE = load_profile(builtin_profiles()["reference"]).profile
WALLET_PROFILE = load_profile(
    Path(__file__).parent.parent / "suites" / "data" / "wallet-profile.yaml"
).profile
QUICK = {"sustained_s": 4, "idle_s": 0.5}
#: soakmon's default delivery, straight to the target (no HTTP/2 front).
DIRECT = Delivery()


@dataclass(frozen=True)
class Row:
    """A fault and the scenario whose check must fail when the fault is active."""

    name: str
    fault: str
    suite: str
    scenario: str
    check: str
    postgres_only: bool = False


#: Every race fault (and each over-subscription variant guarded by one), plus the PostgreSQL
#: deadlock race, which no window widens. Names and checks as in the detection matrix.
ROWS: tuple[Row, ...] = (
    Row("lost-update", "lost-update", "points", "concurrent-points-addition",
        "no lost update (balance = start + additions = ledger)"),
    Row("overdraft", "overdraft", "points", "concurrent-points-deduction",
        "balance never negative"),
    Row("dirty-read", "dirty-read", "isolation", "read-committed-isolation",
        "readers see only committed data (no dirty read)"),
    Row("skewed-snapshot", "skewed-snapshot", "points", "balance-query-during-updates",
        "every read is a committed snapshot"),
    Row("reward-overdraft", "reward-overdraft", "rewards", "concurrent-reward-redemption",
        "no overdraft (quantities never negative)"),
    Row("reward-overdraft (variant)", "reward-overdraft", "oversubscription",
        "redeem-more-than-bought", "no overdraft (quantities never negative)"),
    Row("double-gift", "double-gift", "rewards", "concurrent-welcome-gift",
        "the gift's points are awarded exactly once"),
    Row("partial-grant", "partial-grant", "rewards", "reward-grant-and-query",
        "readers never see a partial grant"),
    Row("purchase-overspend", "purchase-overspend", "oversubscription",
        "rewards-buy-more-than-affordable", "balance never negative"),
    Row("double-top3", "double-top3", "top3", "concurrent-top3-same-date",
        "exactly one set succeeds, the others are already_set"),
    Row("top3-overspend", "top3-overspend", "oversubscription",
        "top3-more-dates-than-affordable", "balance never negative"),
    Row("partial-top3", "partial-top3", "top3", "top3-query-during-creation",
        "a reader sees empty or complete, never partial"),
    Row("double-completion-bonus", "double-completion-bonus", "tasks",
        "concurrent-task-completion", "each Top3 task pays its bonus exactly once"),
    Row("double-completion-bonus (same task)", "double-completion-bonus", "oversubscription",
        "same-task-completed-concurrently", "the bonus is paid exactly once"),
    Row("double-completion-bonus (delete race)", "double-completion-bonus", "oversubscription",
        "same-task-deleted-and-completed", "the bonus is paid at most once"),
    Row("no-deadlock-retry", "no-deadlock-retry", "isolation", "deadlock-recovery",
        "all transfers eventually succeed", postgres_only=True),
)  # fmt: skip
ROWS_BY_NAME = {r.name: r for r in ROWS}

#: The races of the wallet stand-in (tests/suites/wallet_server.py, racy=True): no sleep in
#: their window, only the next statement's round trip.
WALLET_ROWS: tuple[Row, ...] = (
    Row("wallet lost update", "racy", "points", "concurrent-points-addition",
        "no lost update (balance = start + additions = ledger)"),
    Row("wallet overdraft", "racy", "points", "concurrent-points-deduction",
        "balance never negative"),
)  # fmt: skip
#: What a clean run covers: every built-in scenario the races use (reference) / the wallet's.
CLEAN_SUITES = ("points", "isolation", "rewards", "top3", "tasks", "oversubscription")
WALLET_CLEAN_SUITES = ("points", "isolation")
assert {r.fault for r in ROWS} >= set(RACE_FAULTS), "a race fault has no statistics row"


def one_scenario(suite: str, scenario: str) -> list[LoadedSuite]:
    return [builtin(suite, scenario)]


@dataclass(frozen=True)
class Trial:
    row: str
    db: str
    outcome: str
    """``caught`` (the guarding check failed), ``missed`` (it held) or ``error``."""
    detail: str = ""
    seconds: float = 0.0
    attempts: int = 1
    """Attempts the run made (it stops at the first violation)."""
    send_spread_s: float | None = None
    """Widest send spread of the run's concurrent phases."""
    arrival_spread_s: float | None = None
    """Widest arrival spread the target reported."""
    deliveries: tuple[str, ...] = ()
    """How the run's concurrent phases went (``single-packet/h2``, ``last-byte/http/1.1`` ...)."""


def options(seed: int, attempts: int | None, delivery: Delivery = DIRECT, **kw: Any) -> RunOptions:
    """A run as ``soakmon run`` makes it (``attempts`` None: the default; ``delivery``: its
    ``--sync``, ``--h2c`` and ``--ca-file``)."""
    return RunOptions(
        seed=seed,
        timeout_s=5,
        attempts=AttemptPolicy(attempts=attempts),
        sync=delivery.sync,
        h2c=delivery.h2c,
        ca_file=delivery.ca_file,
        **kw,
    )


async def trial(
    row: Row,
    db: str,
    db_url: str | None,
    *,
    race_window: float | None,
    seed: int,
    attempts: int | None = None,
    delivery: Delivery = DIRECT,
) -> Trial:
    """One run of the row's scenario against a fresh target with the row's fault, delivered
    as ``delivery`` says (through an HTTP/2 front when it has one)."""
    started = time.monotonic()
    async with delivery.target(db_url, [row.fault], race_window=race_window) as url:
        run = await run_suites(
            url,
            PROFILE,
            one_scenario(row.suite, row.scenario),
            options(seed, attempts, delivery, overrides=QUICK),
        )
    return _judge(row, db, run, time.monotonic() - started, delivery)


async def wallet_trial(
    row: Row,
    db: str,
    db_url: str | None,
    *,
    seed: int,
    attempts: int | None = None,
    delivery: Delivery = DIRECT,
) -> Trial:
    """One run of the row's scenario against a fresh racy wallet stand-in."""
    started = time.monotonic()
    async with wallet_server(racy=True, postgres_url=db_url) as served:
        with delivery.serve(served) as url:
            run = await run_suites(
                url,
                WALLET_PROFILE,
                one_scenario(row.suite, row.scenario),
                options(seed, attempts, delivery),
            )
    return _judge(row, db, run, time.monotonic() - started, delivery)


def _phases(result: ScenarioResult) -> list[tuple[str, str, int]]:
    """``(sync, protocol, requests)`` of every concurrent phase of every attempt."""
    if result.attempts is None:
        return []
    return [
        (p.sync, str(p.detail.get("protocol", "?")), p.requests)
        for attempt in result.attempts.runs
        for p in attempt.phases
    ]


def _judge(row: Row, db: str, run: RunResult, seconds: float, delivery: Delivery = DIRECT) -> Trial:
    (result,) = run.scenarios
    tried = result.attempts
    timing: dict[str, Any] = {}
    phases = _phases(result)
    if tried is not None:
        timing = {
            "attempts": len(tried.runs),
            "send_spread_s": tried.max_spread(),
            "arrival_spread_s": tried.max_spread(arrival=True),
            "deliveries": tuple(sorted({f"{s}/{p}" for s, p, _ in phases})),
        }
    wrong = delivery.wrong_phases(phases)
    if wrong:  # not the delivery under test: neither caught nor missed
        detail = f"phases not delivered {delivery.sync.value}: {sorted(set(wrong))}"
        return Trial(row.name, db, "error", detail[:300], seconds, **timing)
    failed = {c.name for c in result.failed_checks}
    if row.check in failed:
        return Trial(row.name, db, "caught", seconds=seconds, **timing)
    errors = [f"{c.name}: {c.observed}" for c in result.error_checks]
    if errors or result.status == "error":
        return Trial(row.name, db, "error", "; ".join(errors)[:300], seconds, **timing)
    other = sorted(failed)
    detail = f"other failures: {other}" if other else ""
    return Trial(row.name, db, "missed", detail, seconds, **timing)


async def clean_run(
    target: str,
    db: str,
    db_url: str | None,
    *,
    seed: int,
    attempts: int | None = None,
    delivery: Delivery = DIRECT,
) -> Trial:
    """Every scenario of the clean suites against the correct service (reference target at the
    same race window, delivered as ``delivery`` says, or the correct wallet): ``clean`` or
    ``ALARM`` (a failed check, latency budgets excepted, or an error), with what alarmed."""
    started = time.monotonic()
    if target == "reference":
        suites = [load_suite(builtin_suites()[name]) for name in CLEAN_SUITES]
        async with delivery.target(db_url, race_window=0.0) as url:
            run = await run_suites(
                url, PROFILE, suites, options(seed, attempts, delivery, overrides=QUICK)
            )
    else:
        suites = [load_suite(builtin_suites()[name]) for name in WALLET_CLEAN_SUITES]
        async with wallet_server(racy=False, postgres_url=db_url) as served:
            with delivery.serve(served) as url:
                opts = options(seed, attempts, delivery)
                run = await run_suites(url, WALLET_PROFILE, suites, opts)
    alarms = problems(run)
    outcome = "ALARM" if alarms else "clean"
    name = f"clean {target}"
    if not alarms:  # clean over the delivery under test only
        wrong = delivery.wrong_phases([p for s in run.scenarios for p in _phases(s)])
        if wrong:
            detail = f"phases not delivered {delivery.sync.value}: {sorted(set(wrong))}"
            return Trial(name, db, "error", detail[:500], time.monotonic() - started)
    return Trial(name, db, outcome, "; ".join(alarms)[:500], time.monotonic() - started)


@dataclass
class Tally:
    row: str
    db: str
    counts: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def runs(self) -> int:
        return sum(self.counts.values())

    @property
    def rate(self) -> float:
        return self.counts["caught"] / self.runs if self.runs else 0.0


def tally(trials: Iterable[Trial]) -> list[Tally]:
    out: dict[tuple[str, str], Tally] = {}
    for t in trials:
        entry = out.setdefault((t.row, t.db), Tally(t.row, t.db))
        entry.counts[t.outcome] += 1
        entry.seconds += t.seconds
    return list(out.values())


def table(tallies: Sequence[Tally], title: str) -> list[str]:
    """Rows x databases: ``caught/runs`` (errors noted), one line per row."""
    rows = list(dict.fromkeys(t.row for t in tallies))
    dbs = list(dict.fromkeys(t.db for t in tallies))
    cell = {(t.row, t.db): t for t in tallies}
    width = max(map(len, rows), default=3)

    def show(t: Tally | None) -> str:
        if t is None:
            return "-"
        if t.row.startswith("clean"):
            text = f"{t.counts['clean']}/{t.runs} clean"
            text += f", {t.counts['ALARM']} ALARM" if t.counts["ALARM"] else ""
            return text + (f", {t.counts['error']} err" if t.counts["error"] else "")
        text = f"{t.counts['caught']}/{t.runs} ({t.rate:.0%})"
        return text + (f" {t.counts['error']} err" if t.counts["error"] else "")

    head = f"{'fault (scenario)':<{width}}  " + "  ".join(f"{db:<18}" for db in dbs)
    lines = [title, head, "-" * len(head)]
    for row in rows:
        lines.append(
            f"{row:<{width}}  " + "  ".join(f"{show(cell.get((row, db))):<18}" for db in dbs)
        )
    return lines
