"""``soakmon load``: plain load against one endpoint, closed (``--vus``) or open (``--rate``).

The default connection mode is ``shared``: one keep-alive pool, so the numbers measure the
target and not the client's TCP handshakes (wrk, k6 and Locust also keep connections alive),
and it is the fastest path. ``per-user`` gives each VU its own session and cookies;
``per-request`` opens a fresh connection per request like the original spec.
"""

from __future__ import annotations

import json
import math
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from monitor.cli import load_processes, load_rounds
from monitor.cli.app import app
from monitor.cli.entry import doing
from monitor.cli.load_common import exit_if_unreachable, graceful_stop, say_stopped
from monitor.engine import (
    ConcurrentTester,
    ConnectionMode,
    ConstantArrivalRate,
    ConstantVUs,
    EngineConfigError,
    Executor,
    RequestSpec,
    Runner,
    RunOutcome,
    SyncMode,
    parse_duration,
)
from monitor.engine import Progress as RunProgress
from monitor.engine.aio import run as run_loop
from monitor.errors import ExitCode, UsageError

MAX_AUTO_VUS = 1000


def _headers(values: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for value in values:
        key, sep, val = value.partition(":")
        if not sep or not key.strip():
            raise UsageError(f"--header {value!r}: expected NAME:VALUE")
        headers[key.strip()] = val.strip()
    return headers


def _body(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--body is not valid JSON: {exc}") from None


def _executor(
    vus: int | None, rate: float | None, duration: float, timeout: float, max_vus: int | None
) -> Executor:
    if vus is not None and rate is not None:
        raise UsageError("use either --vus (closed model) or --rate (open model), not both")
    if rate is not None:
        if not rate > 0:
            raise UsageError(f"--rate must be > 0, got {rate}")
        return ConstantArrivalRate(rate, duration, max_vus=_max_vus(rate, timeout, max_vus))
    if max_vus is not None:
        raise UsageError("--max-vus only applies with --rate")
    if vus is not None and vus < 1:
        raise UsageError(f"--vus must be >= 1, got {vus}")
    return ConstantVUs(vus or 1, duration)


def _max_vus(rate: float, timeout: float, max_vus: int | None) -> int:
    """``--max-vus``, by default rate x timeout within 10..1000."""
    return max_vus or max(10, min(MAX_AUTO_VUS, math.ceil(rate * timeout)))


def _report(
    target: str, mode: str, fast: bool, started: datetime, outcome: RunOutcome
) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "kind": "load",
        "target": target,
        "mode": mode,
        "fast_path": fast,
        "started_at": started.isoformat(),
        "duration_s": round(outcome.stats.duration_s, 3),
        "requests": outcome.result.to_dict(),
        "executor": outcome.stats.to_dict(),
    }


def _summary(outcome: RunOutcome, target: str, transport: str) -> Table:
    result, stats = outcome.result, outcome.stats
    table = Table(title=f"soakmon load: {target}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    lat = result.latency_ms()
    codes = ", ".join(f"{k}: {v}" for k, v in sorted(result.status_codes.items())) or "-"
    rows = [
        ("executor", f"{stats.executor} (max {stats.vus_max} VUs busy)"),
        ("transport", transport),
        ("requests", f"{result.total} in {stats.duration_s:.2f} s"),
        (
            "req/s",
            f"{stats.achieved_rate:.1f} iterations/s, {result.total / stats.active_s:.1f} req/s"
            if stats.active_s > 0
            else "-",
        ),
        ("success", str(result.success_count)),
        ("errors", str(result.error_count)),
        ("status codes", codes),
        ("latency ms", " ".join(f"{k}={v:.2f}" for k, v in lat.items())),
        ("dropped", str(stats.dropped)),
        ("interrupted", str(stats.interrupted)),
    ]
    for key, value in rows:
        table.add_row(key, value)
    for message in result.errors[:5]:
        table.add_row("error", message)
    return table


async def _run(
    tester: ConcurrentTester,
    executor: Executor,
    spec: RequestSpec,
    progress: Progress | None,
    state: dict[str, Any],
) -> RunOutcome:
    task_id = None
    if progress is not None:
        task_id = progress.add_task("load", total=executor.duration or None, stats="")

    def on_progress(p: RunProgress) -> None:
        if progress is None or task_id is None:
            return
        rate = p.requests / p.elapsed if p.elapsed > 0 else 0.0
        stats = f"{p.requests} req  {rate:.0f} req/s  {p.errors} err  {p.active_vus} busy"
        progress.update(task_id, completed=min(p.elapsed, executor.duration), stats=stats)

    # no sampled records: the summary and report need only counts and the histogram
    runner = Runner(tester.client, executor, spec, sample_limit=0, on_progress=on_progress)
    state["fast_path"] = runner.uses_fast_path
    with graceful_stop(runner.stop) as stopped:
        async with tester:
            outcome = await runner.run()
    state["stopped_by"] = stopped.by
    return outcome


@app.command()
def load(
    *,
    target: Annotated[str, typer.Option(help="Base URL of the target, e.g. http://host:8080.")],
    duration: Annotated[str, typer.Option(help="How long to run: 500ms, 30s, 2m, 1m30s.")],
    method: Annotated[str, typer.Option(help="HTTP method.")] = "GET",
    path: Annotated[str, typer.Option(help="Path relative to the target.")] = "/",
    header: Annotated[
        list[str] | None, typer.Option("--header", "-H", help="Extra header NAME:VALUE (repeat).")
    ] = None,
    body: Annotated[str | None, typer.Option(help="JSON request body.")] = None,
    vus: Annotated[
        int | None, typer.Option(help="Closed model: VUs looping requests (default 1).")
    ] = None,
    rate: Annotated[
        float | None, typer.Option(help="Open model: requests started per second.")
    ] = None,
    max_vus: Annotated[
        int | None,
        typer.Option(
            help="With --rate: most requests in flight; more are dropped. "
            "Default rate x timeout, within 10..1000."
        ),
    ] = None,
    mode: Annotated[
        str, typer.Option(help="Connections: shared (keep-alive pool), per-user, per-request.")
    ] = "shared",
    timeout: Annotated[float, typer.Option(help="Per-request timeout in seconds.")] = 10.0,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write a JSON report (requests + executor).")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar and no summary table.")
    ] = False,
    uvloop: Annotated[bool, typer.Option(help="Use uvloop when installed.")] = True,
    fast_path: Annotated[
        bool,
        typer.Option(
            help="With --mode shared and http://: send through the lean keep-alive transport "
            "(one connection per VU) instead of aiohttp's ClientSession."
        ),
    ] = True,
    sync: Annotated[
        str,
        typer.Option(
            help="none: plain load. last-byte | single-packet | auto: the --vus VUs send in "
            "lockstep rounds, each round one synchronised batch; the summary gives the spread."
        ),
    ] = "none",
    rounds: Annotated[
        int | None,
        typer.Option(help="With --sync: stop after this many rounds (or at --duration)."),
    ] = None,
    h2c: Annotated[
        bool, typer.Option(help="The target speaks HTTP/2 in clear text (prior knowledge).")
    ] = False,
    ca_file: Annotated[
        Path | None, typer.Option(help="PEM file of the CAs to trust for an https:// target.")
    ] = None,
    processes: Annotated[
        str,
        typer.Option(
            help="Worker processes (a number, or auto: one per CPU). The VUs or the rate are "
            "split exactly; results are merged exactly into one report."
        ),
    ] = "1",
) -> None:
    """Plain load against one endpoint: closed model (--vus) or open model (--rate).

    Exit 0 when the run completed, 2 on bad arguments, 3 when every request failed to connect.
    """
    err = Console(stderr=True)
    doing("checking the arguments")
    try:
        seconds = _parse_duration(duration)
        executor = _executor(vus, rate, seconds, timeout, max_vus)
        spec = RequestSpec(method.upper(), path, json=_body(body), headers=_headers(header or []))
        conn = ConnectionMode.parse(mode)
        if not timeout > 0:
            raise UsageError(f"--timeout must be > 0, got {timeout}")
        sync_mode = _sync_mode(sync, vus, rate)
        if rounds is not None and (sync_mode is SyncMode.NONE or rounds < 1):
            raise UsageError("--rounds needs --sync (not none) and must be >= 1")
        tester = ConcurrentTester(
            target,
            timeout=timeout,
            mode=conn,
            fast_path=fast_path,
            h2c=h2c,
            ca_file=str(ca_file) if ca_file is not None else None,
        )
        tester.client.prepare(spec)  # the URL and headers, checked before anything runs
        workers = load_processes.parse_processes(processes)
        if workers > 1 and sync_mode is not SyncMode.NONE:
            raise UsageError("--processes applies to plain load, not to --sync rounds")
    except (UsageError, EngineConfigError, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(ExitCode.USAGE) from None
    if json_path is not None:
        _check_writable(json_path, err)

    started = datetime.now(UTC)
    doing(f"connecting to {tester.base_url}")
    if sync_mode is not SyncMode.NONE:
        _load_rounds(
            tester, spec=spec, vus=vus or 1, seconds=seconds, sync=sync_mode, rounds=rounds,
            conn=conn,
            started=started, json_path=json_path, quiet=quiet,
        )  # fmt: skip
        return
    if workers > 1:
        plan = {
            "target": target, "target_url": str(tester.base_url), "method": spec.method,
            "path": path, "headers": spec.headers, "body": spec.json, "duration": seconds,
            "timeout": timeout, "mode": conn.value, "fast_path": fast_path, "h2c": h2c,
            "ca_file": str(ca_file) if ca_file is not None else None, "uvloop": uvloop,
        }  # fmt: skip
        load_processes.run_processes(
            plan, processes=workers, vus=vus, rate=rate, json_path=json_path,
            max_vus=None if rate is None else _max_vus(rate, timeout, max_vus), quiet=quiet,
            summary=_summary, report=_report,
        )  # fmt: skip
        return
    state: dict[str, Any] = {}
    show_progress = not quiet and sys.stderr.isatty()
    progress = (
        Progress(
            TextColumn("[bold]load[/bold]"),
            BarColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[stats]}"),
            console=err,
            transient=True,
        )
        if show_progress
        else None
    )
    if progress is not None:
        with progress:
            outcome = run_loop(_run(tester, executor, spec, progress, state), use_uvloop=uvloop)
    else:
        outcome = run_loop(_run(tester, executor, spec, None, state), use_uvloop=uvloop)

    if json_path is not None:
        doc = _report(
            str(tester.base_url), conn.value, state.get("fast_path", False), started, outcome
        )
        doc["stopped_by"] = state.get("stopped_by")
        json_path.write_text(json.dumps(doc, indent=2) + "\n")
    if not quiet:
        transport = "fast path (keep-alive per VU)" if state.get("fast_path") else "aiohttp"
        Console().print(_summary(outcome, str(tester.base_url), f"{conn.value}, {transport}"))
    say_stopped(state.get("stopped_by"), outcome.stats.duration_s, seconds)
    exit_if_unreachable(outcome.result, str(tester.base_url))


def _sync_mode(text: str, vus: int | None, rate: float | None) -> SyncMode:
    try:
        mode = SyncMode.parse(text)
    except ValueError as exc:
        raise UsageError(f"--sync: {exc}") from None
    if mode is not SyncMode.NONE and rate is not None:
        raise UsageError("--sync sends rounds of --vus synchronised requests; not with --rate")
    return mode


def _load_rounds(
    tester: ConcurrentTester,
    *,
    spec: RequestSpec,
    vus: int,
    seconds: float,
    sync: SyncMode,
    rounds: int | None,
    conn: ConnectionMode,
    started: datetime,
    json_path: Path | None,
    quiet: bool,
) -> None:
    outcome, stopped_by = run_loop(
        load_rounds.run_rounds(tester, spec, vus, seconds, sync, max_rounds=rounds)
    )
    target = str(tester.base_url)
    if json_path is not None:
        doc = load_rounds.report(target, conn.value, started.isoformat(), outcome)
        doc["stopped_by"] = stopped_by
        json_path.write_text(json.dumps(doc, indent=2) + "\n")
    if not quiet:
        Console().print(load_rounds.summary(outcome, target, conn.value))
    say_stopped(stopped_by, outcome.duration_s, seconds)
    exit_if_unreachable(outcome.result, target)


def _parse_duration(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"--duration: {exc}") from None
    if not seconds > 0:
        raise UsageError(f"--duration must be longer than 0, got {text!r}")
    return seconds


def _check_writable(path: Path, err: Console) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError as exc:
        err.print(f"[red]error:[/red] --json {path}: {exc.strerror or exc}", highlight=False)
        raise typer.Exit(ExitCode.USAGE) from None
