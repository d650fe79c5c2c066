"""The console summary: one table row per scenario, a one-line verdict, then failure evidence.

Everything that comes from the target (check texts, evidence, error messages) is printed as plain
``Text`` (never parsed as rich markup) with control characters made visible.
"""

from __future__ import annotations

import io
import os
import re
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from monitor.report.text import clean, fmt_ms, fmt_s, one_line
from monitor.suites.results import CheckResult, RunResult, ScenarioResult

MAX_EVIDENCE_LINES = 10
#: Longest expected/observed text shown in the table's "Failed checks" column (the evidence
#: section below the table prints them whole).
MAX_CELL_TEXT = 100

_STATUS_STYLE = {
    "passed": ("PASS", "bold green"),
    "failed": ("FAIL", "bold red"),
    "error": ("ERROR", "bold magenta"),
    "skipped": ("N/A", "bold yellow"),
}


def _check_line(check: CheckResult) -> str:
    """One line per failed check: its name, what was observed and, when it is short, what was
    expected (a multi-line CEL expression is shown whole only in the evidence section)."""
    line = (
        f"{one_line(check.name, MAX_CELL_TEXT)}: observed {one_line(check.observed, MAX_CELL_TEXT)}"
    )
    expected = check.expected.strip()
    if expected and "\n" not in expected and len(expected) <= MAX_CELL_TEXT:
        line += f", expected {expected}"
    return line


def _problems(sc: ScenarioResult) -> Text:
    if sc.status == "skipped":
        reason = sc.skip_reason or "no reason given"
        return Text(clean(f"not applicable: {reason}"), style="yellow")
    failed = sc.failed_checks
    if sc.status == "failed" and not failed:
        return Text("no check passed (scenario has no checks)", style="red")
    text = Text("\n".join(clean(_check_line(c)) for c in failed), style="red")
    for check in sc.error_checks:
        text.append(
            ("\n" if text else "")
            + clean(f"error: {one_line(check.name)}: {one_line(check.message)}"),
            "magenta",
        )
    for check in sc.not_applicable_checks:
        line = clean(f"n/a: {one_line(check.name)}: {one_line(check.message)}")
        text.append(("\n" if text else "") + line, "yellow")
    return text


def _requests(req: dict[str, Any], server_errors: dict[str, int] | None = None) -> Text:
    text = Text(str(req.get("total", 0)))
    errors = int(req.get("error_count", 0))
    if errors:  # refusals (409, 422) are often the expected outcome: not styled as failures
        text.append(f" ({errors} not 2xx)", style="yellow")
    fivexx = sum((server_errors or {}).values())
    if fivexx:  # shown apart from the checks: "correct state but 500s" must be visible
        # (HTTP 5xx, and answers the profile declares server errors: HTTP 200 + {"code": 500})
        text.append(f" ({fivexx} server error{'s' if fivexx != 1 else ''})", style="bold red")
    return text


def shows_attempts(run: RunResult) -> bool:
    """Whether the run has anything to say about attempts: a scenario ran more than one, or a
    concurrent phase's start spread was measured."""
    return any(
        sc.attempts is not None
        and (len(sc.attempts.runs) > 1 or sc.attempts.max_spread() is not None)
        for sc in run.scenarios
    )


def _attempts(sc: ScenarioResult) -> Text:
    if sc.attempts is None or not sc.attempts.runs:
        return Text("-")
    style = "red" if sc.attempts.violated else "magenta" if sc.attempts.errored else ""
    text = Text(clean(sc.attempts.summary()), style=style)
    if sc.attempts.weak:
        text.stylize("yellow", text.plain.find(" ("))
    return text


def _table(run: RunResult) -> Table:
    longest = max((len(sc.name) for sc in run.scenarios), default=8)
    table = Table(
        title="soakmon results", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False
    )
    table.add_column("Suite", overflow="fold")
    table.add_column("Scenario", overflow="fold", min_width=min(longest, 16))
    table.add_column("Status", no_wrap=True)
    table.add_column("Requests", justify="right", no_wrap=True)
    table.add_column("p95", justify="right", no_wrap=True)
    attempts = shows_attempts(run)
    if attempts:
        table.add_column("Attempts", overflow="fold", max_width=36)
    table.add_column("Failed checks", overflow="fold", ratio=1, min_width=18)
    for suite in run.suites:
        for sc in suite.scenarios:
            label, style = _STATUS_STYLE[sc.status]
            req: dict[str, Any] = sc.requests
            cells: list[RenderableType] = [
                Text(clean(suite.name)),
                Text(clean(sc.name)),
                Text(label, style=style),
                _requests(req, sc.server_errors),
                fmt_ms(req.get("latency_ms", {}).get("p95")) if req.get("total") else "-",
            ]
            if attempts:
                cells.append(_attempts(sc))
            table.add_row(*cells, _problems(sc))
    return table


def verdict(run: RunResult) -> Text:
    """``PASSED — 19 scenarios: 19 passed, 0 failed, 0 errors, 0 not applicable in 41.2 s
    against URL``; a run whose every scenario errored in setup says so on a second line."""
    counts = run.counts
    total = sum(counts.values())
    line = Text()
    status = run.status
    style = {"passed": "bold green", "failed": "bold red", "error": "bold magenta"}[status]
    line.append({"passed": "PASSED", "failed": "FAILED", "error": "ERROR"}[status], style=style)
    line.append(f" — {total} scenario{'s' if total != 1 else ''}: {counts['passed']} passed, ")
    line.append(f"{counts['failed']} failed", style="bold red" if counts["failed"] else "")
    line.append(", ")
    errors = counts["error"]
    line.append(f"{errors} error{'s' if errors != 1 else ''}", "bold magenta" if errors else "")
    line.append(", ")
    line.append(
        f"{counts['skipped']} not applicable", style="bold yellow" if counts["skipped"] else ""
    )
    line.append(f" in {fmt_s(run.duration_s)} against {clean(run.target)}")
    if run.setup_errors_only:
        line.append(f"\n{not_the_api(run)}", style="bold magenta")
    return line


_REFUSED = re.compile(r"\bHTTP (401|403|409|412|422)\b")


def _first_setup_error(run: RunResult) -> str:
    for sc in run.scenarios:
        for check in sc.error_checks:
            if check.message:
                return one_line(check.message)
    return ""


def not_the_api(run: RunResult) -> str:
    """The plain statement for a run whose every scenario errored in setup: a target that
    refuses the setup with 401/403/409/412/422 speaks the API but refused these users (bad
    auth, or names left from an earlier run with the same --seed); otherwise the target
    most likely is not the profile's API."""
    first = _first_setup_error(run)
    if _REFUSED.search(first):
        return (
            f"every scenario errored in its setup: {clean(run.target)} refused it ({first});"
            " check the profile's auth, and that the users and names the run creates are new"
            " (a repeated --seed repeats them)"
        )
    return (
        f"every scenario errored in its setup: {clean(run.target)} does not look like the API "
        f"of profile {clean(run.profile or '?')!r} (check --target and --profile)"
    )


def _indented(text: str) -> str:
    """Target text for the evidence section, continuation lines indented under their label."""
    return "\n    ".join(clean(line.rstrip()) for line in text.strip().splitlines() or [""])


def _evidence(run: RunResult) -> list[RenderableType]:
    out: list[RenderableType] = []
    for sc in run.scenarios:
        for check in [*sc.failed_checks, *sc.error_checks]:
            block = Text()
            mark, style = ("✗", "bold red") if check.status == "failed" else ("⚠ error:", "magenta")
            block.append(
                f"{mark} {clean(sc.suite)} / {clean(sc.name)} / {clean(check.name)}", style
            )
            if check.message:
                block.append(f"\n  {_indented(check.message)}")
            expected, observed = _indented(check.expected), _indented(check.observed)
            block.append(f"\n  expected: {expected}\n  observed: {observed}")
            shown = check.evidence[:MAX_EVIDENCE_LINES]
            for item in shown:
                block.append(f"\n    {clean(item)}", style="dim")
            if len(check.evidence) > len(shown):
                block.append(f"\n    … and {len(check.evidence) - len(shown)} more", style="dim")
            out.append(block)
    return out


def summary(run: RunResult) -> Group:
    """The whole console summary as one rich renderable."""
    parts: list[RenderableType] = [_table(run), verdict(run)]
    evidence = _evidence(run)
    if evidence:
        parts += [Text("\nFailed checks and errors:", style="bold"), *evidence]
    return Group(*parts)


def print_summary(run: RunResult, console: Console | None = None) -> None:
    """Print the summary to ``console`` (default: stdout; 120 columns when it is not a terminal
    and ``COLUMNS`` is unset, so CI logs are not squeezed into 80)."""
    if console is None:
        console = Console()
        if not console.is_terminal and "COLUMNS" not in os.environ:
            console = Console(width=120)
    console.print(summary(run))


def render_summary(run: RunResult, *, width: int = 160, color: bool = False) -> str:
    """The summary as a string (no colours unless asked): for logs and tests."""
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system="standard" if color else None)
    console.print(summary(run))
    return buf.getvalue()
