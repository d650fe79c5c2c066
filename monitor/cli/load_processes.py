"""The command-line side of ``soakmon load --processes N``: progress view, report, exit code.

The workers and the merging live in :mod:`monitor.cli.load_workers`; this module shows one
live progress bar over all of them, prints one summary, writes one JSON report (with a
``workers`` list and the merged per-second ``intervals``) and exits 4 when a worker died.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from monitor.engine import RunOutcome
from monitor.engine.aio import run as run_loop
from monitor.errors import ExitCode, UsageError

from .entry import doing
from .load_common import exit_if_unreachable, say_stopped
from .load_workers import MergedRun, auto_processes, run_workers, split_plan


def parse_processes(text: str) -> int:
    """``--processes``: a count ≥ 1 or ``auto`` (one per CPU this process may use)."""
    if text.strip().lower() == "auto":
        return auto_processes()
    try:
        n = int(text)
    except ValueError:
        raise UsageError(f"--processes must be a number or auto, got {text!r}") from None
    if n < 1:
        raise UsageError(f"--processes must be >= 1, got {n}")
    return n


def run_processes(
    base_plan: dict[str, Any],
    *,
    processes: int,
    vus: int | None,
    rate: float | None,
    max_vus: int | None,
    json_path: Path | None,
    quiet: bool,
    summary: Any,
    report: Any,
) -> None:
    """Run the load in ``processes`` workers and present the merged result."""
    err = Console(stderr=True)
    shares = split_plan(processes, vus=vus, rate=rate, max_vus=max_vus)
    started = datetime.now(UTC)
    duration = float(base_plan["duration"])
    progress = (
        Progress(
            TextColumn(f"[bold]load ×{len(shares)}[/bold]"),
            BarColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[stats]}"),
            console=err,
            transient=True,
        )
        if not quiet and sys.stderr.isatty()
        else None
    )

    def show(p: dict[str, float]) -> None:
        if progress is None:
            return
        per_s = p["requests"] / p["elapsed"] if p["elapsed"] > 0 else 0.0
        stats = (
            f"{p['requests']:.0f} req  {per_s:.0f} req/s  {p['errors']:.0f} err  "
            f"{p['active_vus']:.0f} busy  {len(shares)} workers"
        )
        progress.update(task, completed=min(p["elapsed"], duration), stats=stats)

    doing(f"starting {len(shares)} workers against {base_plan['target_url']}")
    if progress is not None:
        task = progress.add_task("load", total=duration, stats="")
        with progress:
            merged = run_loop(run_workers(base_plan, shares, on_progress=show))
    else:
        merged = run_loop(run_workers(base_plan, shares))
    doing("printing the summary", started=True)
    outcome = RunOutcome(merged.result, merged.stats)
    target = str(base_plan["target_url"])
    if json_path is not None:
        doc = report(target, base_plan["mode"], merged.fast_path, started, outcome)
        doc |= _extra(merged) | {"stopped_by": merged.stopped_by}
        json_path.write_text(json.dumps(doc, indent=2) + "\n")
    if not quiet:
        transport = "fast path (keep-alive per VU)" if merged.fast_path else "aiohttp"
        table = summary(outcome, target, f"{base_plan['mode']}, {transport}")
        table.add_row("processes", f"{len(shares)} ({len(merged.dead)} died)")
        Console().print(table)
    for w in merged.dead:
        err.print(f"[red]{w.describe()}[/red]", highlight=False)
    say_stopped(merged.stopped_by, merged.stats.duration_s, duration)
    exit_if_unreachable(merged.result, target)
    if merged.dead:
        raise typer.Exit(ExitCode.ERROR)


def _extra(merged: MergedRun) -> dict[str, Any]:
    return {
        "processes": len(merged.workers),
        "workers": [w.to_dict() for w in merged.workers],
        "intervals": merged.intervals,
    }
