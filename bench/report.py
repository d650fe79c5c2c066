"""The benchmark's console tables (rich) and its JSON document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.idle import IdleMemory
from bench.latency import P50_BOUND_MS, P99_BOUND_MS, FixedRate
from bench.profiling import Profile
from bench.scaling import PROCESSES_GOAL, RATIOS, VARIANTS, Scaling
from bench.throughput import RunResult

# soakmon's fast path must do at least this many times each generator's steady-state requests
# per CPU-second (issue 23: twice the compiled vegeta, eight times Locust FastHttpUser).
GOALS = {"vegeta": 2.0, "locust": 8.0}


def _num(value: float | None, fmt: str = "{:,.0f}") -> str:
    return "-" if value is None else fmt.format(value)


def throughput_table(results: list[RunResult], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    columns = (
        "generator",
        "req/s",
        "core use",
        "req/s per busy core",
        "req/CPU-s steady",
        "start-up CPU s",
        "p50 ms",
        "p99 ms",
        "errors",
        "RSS MiB",
    )
    for col in columns:
        table.add_column(col, justify="left" if col == "generator" else "right")
    for r in results:
        if not r.ok:
            table.add_row(r.label, "[dim]skipped[/dim]" if r.skipped else "[red]FAILED[/red]")
            continue
        table.add_row(
            r.label,
            _num(r.rps),
            _num(None if r.steady_cpu_util is None else 100 * r.steady_cpu_util, "{:.0f} %"),
            _num(r.rps_per_busy_core),
            _num(r.rps_per_cpu_s),
            _num(r.fixed_cpu_s, "{:.2f}"),
            _num(r.p50_ms, "{:.2f}"),
            _num(r.p99_ms, "{:.2f}"),
            _num(r.errors),
            _num(r.max_rss_kib / 1024, "{:.0f}"),
        )
    return table


def ratio_table(ratios: dict[str, dict[str, float]], labels: dict[str, str]) -> Table:
    table = Table(
        title="soakmon load (shared, fast path, uvloop) relative to each; goals: "
        + ", ".join(f"≥ {g:g}× {name}" for name, g in GOALS.items())
        + " in steady-state requests per CPU-second",
        title_justify="left",
    )
    for col in ("generator", "by req/s", "by req/s per busy core", "by req/CPU-s steady"):
        table.add_column(col, justify="left" if col == "generator" else "right")
    for name, ratio in ratios.items():
        mark = ""
        if name in GOALS and ratio["per_cpu_s"]:
            met = ratio["per_cpu_s"] >= GOALS[name]
            mark = " [green]goal met[/green]" if met else " [red]below goal[/red]"
        steady = f"{ratio['per_cpu_s']:.2f}×{mark}" if ratio["per_cpu_s"] else "not judged"
        table.add_row(
            labels.get(name, name),
            f"{ratio['rps']:.2f}×",
            f"{ratio['per_busy_core']:.2f}×",
            steady,
        )
    return table


def idle_table(idle: list[IdleMemory]) -> Table:
    table = Table(title="Memory per idle VU (requests held open)", title_justify="left")
    for col in (
        "soakmon load",
        "VUs in flight",
        "RSS MiB",
        "USS MiB",
        "settled after s",
        "KiB per VU",
    ):
        table.add_column(col, justify="left" if col == "soakmon load" else "right")
    for m in idle:
        for sample, per_vu in ((m.base, None), (m.loaded, m.kib_per_vu)):
            flight = f"{sample.in_flight:,} of {sample.vus:,}"
            table.add_row(
                m.mode,
                flight if sample.reached else f"[red]{flight}[/red]",
                _num(sample.rss_kib / 1024, "{:.1f}"),
                _num(None if sample.uss_kib is None else sample.uss_kib / 1024, "{:.1f}"),
                _num(sample.settle_s, "{:.1f}"),
                _num(per_vu, "{:.1f}"),
            )
    return table


def profile_table(profile: Profile, limit: int = 12) -> Table:
    table = Table(
        title=f"Own CPU time in profiled soakmon load ({profile.requests:,} requests, "
        f"{profile.total_s:.1f} s under cProfile)",
        title_justify="left",
    )
    table.add_column("function")
    table.add_column("calls", justify="right")
    table.add_column("own s", justify="right")
    table.add_column("own %", justify="right")
    for row in profile.top[:limit]:
        table.add_row(
            row["function"], f"{row['calls']:,}", f"{row['own_s']:.2f}", str(row["own_pct"])
        )
    table.add_section()
    for pkg, own in profile.by_package.items():
        pct = 100 * own / profile.total_s if profile.total_s else 0.0
        table.add_row(f"[bold]{pkg}[/bold]", "", f"{own:.2f}", f"{pct:.1f}")
    return table


def latency_table(fixed: FixedRate) -> Table:
    """soakmon's and vegeta's percentiles at the same fixed rate, and the difference."""
    verdict = {None: "", True: " [green]met[/green]", False: " [red]NOT met[/red]"}[fixed.met]
    table = Table(
        title=f"Latency at a fixed {fixed.rate:g} req/s against nginx ({fixed.duration_s} s "
        f"windows, {fixed.conditions}; medians over the windows; goal: soakmon p50 ≤ vegeta + "
        f"{P50_BOUND_MS:g} ms, p99 ≤ vegeta + {P99_BOUND_MS:g} ms){verdict}",
        title_justify="left",
    )
    for col in ("generator", "requests", "req/s", "errors", "p50 ms", "p99 ms"):
        table.add_column(col, justify="left" if col == "generator" else "right")
    rows = [("soakmon load --rate", fixed.soakmon), ("vegeta attack -rate", fixed.vegeta)]
    for label, row in rows:
        if row is None:
            table.add_row(label, f"[dim]{fixed.skipped or 'skipped'}[/dim]")
            continue
        table.add_row(
            label, _num(row["requests"]), _num(row["rps"], "{:,.1f}"), _num(row["errors"]),
            _num(row["p50_ms"], "{:.3f}"), _num(row["p99_ms"], "{:.3f}"),
        )  # fmt: skip
    if fixed.p50_over_ms is not None:
        table.add_row("soakmon − vegeta", "", "", "", f"{fixed.p50_over_ms:+.3f}",
                      f"{fixed.p99_over_ms:+.3f}")  # fmt: skip
    return table


def write_json(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")


def print_all(
    console: Console,
    doc: dict[str, Any],
    results: list[RunResult],
    idle: list[IdleMemory],
    profile: Profile | None,
) -> None:
    """Print every table of the run to ``console``."""
    meta = doc["meta"]
    console.print(
        f"[bold]soakmon benchmark[/bold]  {meta['vus']} VUs, {meta['duration_s']} s per generator, "
        f"generator pinned to CPU {meta['generator_core']}, nginx to CPU {meta['target_core']}; "
        f"load average before {meta['load_before']['loadavg_1m']}, "
        f"after {meta['load_after']['loadavg_1m']} (shared machine: numbers are noisy)"
    )
    labels = {r.name: r.label for r in results}
    if results:
        console.print(throughput_table(results, "Throughput against nginx on loopback"))
        for r in results:
            if not r.ok:
                console.print(f"  [dim]{r.label}: {r.skipped or r.failed or 'no requests'}[/dim]")
            elif r.starved:
                console.print(f"  [yellow]not judged:[/yellow] {r.starved}")
        if doc["ratios"]:
            console.print(ratio_table(doc["ratios"], labels))
    if idle:
        console.print(idle_table(idle))
    if profile is not None:
        console.print(profile_table(profile))
    for name in GOALS:
        verdict = goal_verdict(name, doc["ratios"].get(name), labels.get(name, name))
        if verdict:
            console.print(verdict)


def scaling_table(scaling: Scaling) -> Table:
    """Each variant's requests per CPU-second in every round, then the ratios and verdicts."""
    rounds = len(scaling.rounds)
    table = Table(
        title="soakmon load --processes 2 against one process: requests nginx answered per "
        "CPU-second of the generator's processes, over 25-85 % of each run "
        f"({rounds} interleaved round(s); the goal's row is the median round)",
        title_justify="left",
    )
    table.add_column("variant")
    for index in range(rounds):
        table.add_column(f"round {index + 1} req/CPU-s", justify="right")
    table.add_column("req/s (last)", justify="right")
    table.add_column("CPU share per process (last)", justify="right")
    for variant in VARIANTS:
        got = [r.get(variant.name) for r in scaling.rounds]
        last = next((w for w in reversed(got) if w is not None), None)
        if last is None:
            why = scaling.failed.get(variant.name, "not run")
            table.add_row(variant.label, f"[red]{why}[/red]")
            continue
        table.add_row(
            variant.label,
            *(_num(None if w is None else w.per_cpu_s) for w in got),
            _num(last.rps),
            " + ".join(f"{share:.2f}" for share in last.shares),
        )
    table.add_section()
    for key, _, _, what in RATIOS:
        values = scaling.ratio(key)
        median = scaling.median(key)
        cells = [f"{v:.2f}×" for v in values] + [""] * (rounds - len(values))
        table.add_row(f"ratio: {what}", *cells, "", "" if median is None else
                      f"median {median:.2f}×")  # fmt: skip
    return table


def scaling_verdicts(scaling: Scaling) -> list[str]:
    """The goal's line (both workers on the generator core) and the all-cores line."""
    lines = []
    one_core = scaling.median("two-one-core")
    if one_core is not None:
        head = "[green]met[/green]" if one_core >= PROCESSES_GOAL else "[red]NOT met[/red]"
        lines.append(
            f"{head}: soakmon load --processes 2 = {one_core:.2f}× one process in requests per "
            "CPU-second summed over parent and workers, both workers on the generator core and "
            f"nginx alone on its core as in the one-process run (median of "
            f"{len(scaling.ratio('two-one-core'))} round(s); goal ≥ {PROCESSES_GOAL:g}×)"
        )
    spread, control = scaling.median("two-spread"), scaling.median("wrk-2-spread")
    if spread is not None:
        also = "" if control is None else (
            f"; the control, wrk -t2 on the same two cores, keeps {control:.2f}× of wrk -t1 "
            "(what sharing nginx's core costs any generator)"
        )  # fmt: skip
        lines.append(
            f"all cores: soakmon load --processes 2 with a worker per core = {spread:.2f}× one "
            f"process per CPU-second{also}"
        )
    return lines


def goal_verdict(name: str, ratio: dict[str, float] | None, label: str) -> str | None:
    """One line: is soakmon at least ``GOALS[name]``× that generator per core?"""
    if not ratio:
        return None
    goal = GOALS[name]
    steady, raw = ratio["per_cpu_s"], ratio["rps"]
    if not steady:
        return (
            f"[yellow]goal not judged[/yellow]: soakmon load against {label} (a generator "
            "got too little of its core for a steady-state figure; see above)"
        )
    head = "[green]goal met[/green]" if steady >= goal else "[red]goal NOT met[/red]"
    return (
        f"{head}: soakmon load = {steady:.2f}× {label} in steady-state requests per "
        f"CPU-second (goal ≥ {goal:g}×); {raw:.2f}× by raw req/s on the pinned core, which also "
        "depends on how much of that core each tool got on this shared machine"
    )
