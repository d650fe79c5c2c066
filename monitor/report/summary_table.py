"""The summary table of ``soakmon run`` and ``soakmon demo``, laid out for the terminal's width.

Names are never split: suite and scenario names are whole words a user searches for (in the
suite file, in ``--scenario``), so their columns never wrap. A column with nothing to say is
not shown (no "Failed checks" column when every scenario passed). Three layouts, the first that
fits: a Suite column beside the scenario, the measures and the attempts (each on one line);
each suite a heading row above its scenarios (no Suite column: the demo's 24 scenarios at 120
columns); and, where even that leaves no room for the attempts (80 columns), each scenario's
attempts under its name. Failed checks (and skip reasons, errors, n/a checks) get their own
column only when it leaves them at least :data:`MIN_PROBLEMS_WIDTH` columns; otherwise each goes
on its own line under the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from monitor.report.text import clean, fmt_ms, one_line
from monitor.suites.results import CheckResult, RunResult, ScenarioResult

#: Longest expected/observed text shown for a failed check in the table (the evidence section
#: below the table prints them whole).
MAX_CELL_TEXT = 100
MIN_PROBLEMS_WIDTH = 40
"""Narrowest "Failed checks" column worth showing; narrower, the lines go under the table."""
MAX_ATTEMPTS_WIDTH = 36
"""Widest Attempts column; a longer summary (weak attempts) wraps."""
_INDENT = 2  # a scenario under its suite's heading row
_GAP = 3  # between two columns: their padding (one each side) and the box's blank divider
_EDGE = 2  # the box's blank left and right edges

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


def problems(sc: ScenarioResult) -> Text:
    """What is wrong with a scenario, one line each (empty when it passed cleanly)."""
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


def requests_cell(req: dict[str, Any], server_errors: dict[str, int] | None = None) -> Text:
    text = Text(str(req.get("total", 0)))
    errors = int(req.get("error_count", 0))
    if errors:  # refusals (409, 422) are often the expected outcome: not styled as failures
        text.append(f" ({errors} not 2xx)", style="yellow")
    fivexx = sum((server_errors or {}).values())
    if fivexx:  # shown apart from the checks: "correct state but 500s" must be visible
        # (HTTP 5xx, and answers the profile declares server errors: HTTP 200 + {"code": 500})
        # on a line of its own: the Requests column stays narrow
        text.append(f"\n({fivexx} server error{'s' if fivexx != 1 else ''})", style="bold red")
    return text


def shows_attempts(run: RunResult) -> bool:
    """Whether the run has anything to say about attempts: a scenario ran more than one, or a
    concurrent phase's start spread was measured."""
    return any(
        sc.attempts is not None
        and (len(sc.attempts.runs) > 1 or sc.attempts.max_spread() is not None)
        for sc in run.scenarios
    )


def attempts_cell(sc: ScenarioResult) -> Text:
    if sc.attempts is None or not sc.attempts.runs:
        return Text("-")
    style = "red" if sc.attempts.violated else "magenta" if sc.attempts.errored else ""
    text = Text(clean(sc.attempts.summary()), style=style)
    if sc.attempts.weak:
        text.stylize("yellow", text.plain.find(" ("))
    return text


@dataclass(slots=True)
class _Row:
    suite: Text
    name: Text
    status: Text
    requests: Text
    p95: str
    attempts: Text
    problems: Text


def _rows(run: RunResult) -> list[_Row]:
    rows = []
    for suite in run.suites:
        for sc in suite.scenarios:
            label, style = _STATUS_STYLE[sc.status]
            req: dict[str, Any] = sc.requests
            p95 = fmt_ms(req.get("latency_ms", {}).get("p95")) if req.get("total") else "-"
            rows.append(
                _Row(Text(clean(suite.name)), Text(clean(sc.name)), Text(label, style=style),
                     requests_cell(req, sc.server_errors), p95, attempts_cell(sc), problems(sc))
            )  # fmt: skip
    return rows


def _widest(cells: Iterable[Text | str], header: str) -> int:
    """The widest line of a column's cells and header."""
    texts = [Text(c) if isinstance(c, str) else c for c in cells]
    return max([len(header), *(line.cell_len for t in texts for line in t.split("\n"))])


class SummaryTable:
    """The table for one run; its layout is chosen when rich renders it, for the width there."""

    def __init__(self, run: RunResult) -> None:
        self.rows = _rows(run)
        self.attempts = shows_attempts(run)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.layout(options.max_width)

    def layout(self, width: int) -> RenderableType:
        """The table (and the lines under it) that fit ``width`` columns: a Suite column when
        the attempts still fit on one line beside it, else each suite a heading row; when even
        then the Attempts column does not fit, each scenario's attempts go under its name."""
        rows = self.rows
        measures = sum(
            _widest(cells, header) + _GAP
            for cells, header in (
                ((r.status for r in rows), "Status"),
                ((r.requests for r in rows), "Requests"),
                ((r.p95 for r in rows), "p95"),
            )
        )
        name_w = _widest((r.name for r in rows), "Scenario")
        attempts_w = (
            min(_widest((r.attempts for r in rows), "Attempts"), MAX_ATTEMPTS_WIDTH) + _GAP
            if self.attempts
            else 0
        )
        has_problems = any(r.problems.plain for r in rows)
        width -= _EDGE
        with_suite = _widest((r.suite for r in rows), "Suite") + _GAP + name_w + measures
        grouped = _INDENT + name_w + measures
        if with_suite + attempts_w <= width:
            suite_column, used = True, with_suite + attempts_w
        elif grouped + attempts_w <= width:
            suite_column, used = False, grouped + attempts_w
        else:
            return Group(self._compact(), *self._under(rows)) if has_problems else self._compact()
        beside = has_problems and width - used - _GAP >= MIN_PROBLEMS_WIDTH
        table = self._columns(suite_column=suite_column, problems_column=beside)
        return Group(table, *self._under(rows)) if has_problems and not beside else table

    def _columns(self, *, suite_column: bool, problems_column: bool) -> Table:
        """One row per scenario with an Attempts column; the suites as a column or as heading
        rows; the failed checks in a column of their own when ``problems_column``."""
        table = _new_table()
        if suite_column:
            table.add_column("Suite", no_wrap=True)
        table.add_column("Scenario", no_wrap=True)
        _add_measures(table)
        if self.attempts:
            table.add_column("Attempts", max_width=MAX_ATTEMPTS_WIDTH)
        if problems_column:
            table.add_column("Failed checks", overflow="fold", ratio=1)
        suite = None
        for r in self.rows:
            if not suite_column and r.suite.plain != suite:
                suite = r.suite.plain
                table.add_row(Text(suite, style="bold"))
            cells: list[RenderableType] = [r.suite] if suite_column else []
            cells += [r.name if suite_column else Text(" " * _INDENT) + r.name]
            cells += [r.status, r.requests, r.p95]
            if self.attempts:
                cells.append(r.attempts)
            if problems_column:
                cells.append(r.problems)
            table.add_row(*cells)
        return table

    def _compact(self) -> Table:
        """Each suite a heading row, each scenario's attempts under its name."""
        table = _new_table()
        table.add_column("Scenario")  # the name never wraps (its Text), its attempts may
        _add_measures(table)
        suite = None
        for r in self.rows:
            if r.suite.plain != suite:
                suite = r.suite.plain
                table.add_row(Text(suite, style="bold"))
            name: RenderableType = Text(" " * _INDENT, no_wrap=True) + r.name
            if self.attempts and r.attempts.plain != "-":  # wraps at words, under the name
                attempts = r.attempts.copy()
                attempts.stylize("dim")
                name = Group(name, Padding(attempts, (0, 0, 0, 4)))
            table.add_row(name, r.status, r.requests, r.p95)
        return table

    @staticmethod
    def _under(rows: list[_Row]) -> list[RenderableType]:
        """Failed checks under the table: the scenario, then each line on its own."""
        out: list[RenderableType] = [Text("Failed checks:", style="bold")]
        for r in rows:
            if not r.problems.plain:
                continue
            out.append(Padding(Text(f"{r.suite.plain} / {r.name.plain}"), (0, 0, 0, 2)))
            for line in r.problems.split("\n"):  # a long line wraps under its own start
                out.append(Padding(line, (0, 0, 0, 4)))
        out.append(Text(""))
        return out


def _new_table() -> Table:
    return Table(title="soakmon results", title_justify="left", box=box.SIMPLE_HEAD,
                 pad_edge=False)  # fmt: skip


def _add_measures(table: Table) -> None:
    table.add_column("Status", no_wrap=True)
    table.add_column("Requests", justify="right", no_wrap=True)
    table.add_column("p95", justify="right", no_wrap=True)
