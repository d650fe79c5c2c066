"""The console summary: one table row per scenario, a one-line verdict, then failure evidence.

Everything that comes from the target (check texts, evidence, error messages) is printed as plain
``Text`` (never parsed as rich markup) with control characters made visible.
"""

from __future__ import annotations

import io
import os
import re

from rich.console import Console, Group, RenderableType
from rich.text import Text

from monitor.report.summary_table import SummaryTable
from monitor.report.text import clean, fmt_s, one_line
from monitor.suites.results import RunResult

MAX_EVIDENCE_LINES = 10


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
    parts: list[RenderableType] = [SummaryTable(run), verdict(run)]
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
