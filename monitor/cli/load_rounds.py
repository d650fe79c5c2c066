"""``soakmon load --sync MODE``: the VUs send in lockstep rounds, each round one synchronised
batch (last-byte over HTTP/1.1, single-packet over HTTP/2), and the summary says how tightly
each round's requests left the client and arrived."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from monitor.cli.load_common import graceful_stop
from monitor.engine import ConcurrentTester, RequestSpec, SyncMode
from monitor.engine.sync.rounds import Rounds, RoundsOutcome


async def run_rounds(
    tester: ConcurrentTester,
    spec: RequestSpec,
    vus: int,
    duration_s: float,
    sync: SyncMode,
    *,
    max_rounds: int | None = None,
) -> tuple[RoundsOutcome, str | None]:
    """Rounds until the duration is up (or ``max_rounds``); Ctrl-C/SIGTERM end after the
    round in flight. Returns the outcome and the signal that stopped it early, if any."""
    rounds = Rounds(tester, spec, vus, duration_s, sync, max_rounds=max_rounds)
    with graceful_stop(rounds.stop) as stopped:
        async with tester:
            outcome = await rounds.run()
    return outcome, stopped.by


def _us(summary: dict[str, Any] | None) -> str:
    if summary is None:
        return "not measured"
    return "  ".join(f"{k}={summary[k] * 1e6:.0f} µs" for k in ("median", "p90", "max"))


def report(target: str, mode: str, started: str, outcome: RoundsOutcome) -> dict[str, Any]:
    """The ``--json`` document of a rounds run."""
    return {
        "schema_version": 1,
        "kind": "load",
        "target": target,
        "mode": mode,
        "fast_path": False,
        "started_at": started,
        "duration_s": round(outcome.duration_s, 3),
        "requests": outcome.result.to_dict(),
        "executor": {"executor": "sync-rounds", "iterations": outcome.rounds},
        "delivery": outcome.to_dict(),
    }


def summary(outcome: RoundsOutcome, target: str, transport: str) -> Table:
    """The console table of a rounds run."""
    result = outcome.result
    delivery = outcome.to_dict()
    table = Table(title=f"soakmon load: {target}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    codes = ", ".join(f"{k}: {v}" for k, v in sorted(result.status_codes.items())) or "-"
    lat = result.latency_ms()
    rows = [
        ("executor", f"sync rounds: {outcome.rounds} x {delivery['requests_per_round']} requests"),
        ("transport", transport),
        ("sync", str(delivery["sync"])),
        ("send spread", _us(delivery["send_spread_s"])),
        ("arrival spread", _us(delivery["arrival_spread_s"])),
        ("requests", f"{result.total} in {outcome.duration_s:.2f} s"),
        ("success", str(result.success_count)),
        ("errors", str(result.error_count)),
        ("status codes", codes),
        ("latency ms", " ".join(f"{k}={v:.2f}" for k, v in lat.items())),
    ]
    rows += [("note", note) for note in delivery["notes"]]
    rows += [("error", message) for message in result.errors[:5]]
    for key, value in rows:
        table.add_row(key, value)
    return table
