"""Which alerts the daemon holds, and what to send when (pure: time is passed in).

One alert per violated check (``SoakmonCheckFailed``), per broken SLO verdict
(``SoakmonSLOBroken``), per failed soak analysis (``SoakmonSoakAnalysisFailed``) and per suite
whose run crashed or timed out (``SoakmonSuiteRunError``). The label set is the identity: the
same violation keeps the same labels across runs, so Alertmanager groups and deduplicates it.

Active alerts are sent when they start or change and again every ``resend_interval``, with
``endsAt`` three intervals ahead (so a daemon that dies lets them expire by themselves). An
alert that clears is sent once more with ``endsAt`` = now (resolved) and forgotten.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from monitor.alerts.model import DEFAULT_RUNBOOK_BASE, Alert, runbook_url

SLO_VERDICTS = frozenset({"error_rate", "p95"})
Key = tuple[tuple[str, str], ...]


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + "…"


def one_line(text: str, limit: int = 300) -> str:
    """``text`` with its whitespace runs (newlines too) made one space, cut at ``limit``: a
    multi-line CEL expression reads as one bounded line in an alert."""
    return truncate(" ".join(text.split()), limit)


def describe(
    message: str,
    expected: str,
    observed: str,
    evidence: Sequence[str],
    *,
    lines: int,
    limit: int,
    more_at: str,
) -> str:
    """A description with the minimal evidence: at most ``lines`` lines of at most 300
    characters, the whole cut at ``limit`` characters with a pointer to the full record."""
    head = [one_line(message)] if message.strip() else []
    head += [f"expected: {one_line(expected)}", f"observed: {one_line(observed)}"]
    body: list[str] = []
    if evidence:
        body.append(f"evidence ({len(evidence)}):")
        body += [f"- {one_line(line)}" for line in evidence[:lines]]
        if len(evidence) > lines:
            body.append(f"- … {len(evidence) - lines} more at {more_at}")
    text = "\n".join(head + body)
    if len(text) > limit:
        tail = f"\n… cut; the full evidence is at {more_at}"
        text = text[: limit - len(tail)].rstrip() + tail
    return text


@dataclass
class _Held:
    alert: Alert
    sent_at: float | None = None  # None: send at the next tick


@dataclass
class AlertBook:
    """The alerts the daemon currently holds firing, plus resolutions not yet handed out."""

    resend_interval: float = 60.0
    extra_labels: Mapping[str, str] = field(default_factory=dict)
    external_url: str = ""
    severity: Mapping[str, str] = field(
        default_factory=lambda: {
            "check": "page", "slo": "page", "analysis": "ticket", "run_error": "ticket",
        }
    )  # fmt: skip
    evidence_lines: int = 10
    description_max_chars: int = 4000
    runbook_base: str = DEFAULT_RUNBOOK_BASE
    chaos: dict[str, str] = field(default_factory=dict)
    """Chaos actions active now (action id -> what): an alert that fires meanwhile says so."""
    _held: dict[Key, _Held] = field(default_factory=dict)
    _resolved: dict[Key, Alert] = field(default_factory=dict)

    @property
    def active(self) -> int:
        return len(self._held)

    def _labels(self, alertname: str, kind: str, **labels: str) -> dict[str, str]:
        out = {**self.extra_labels, **{k: v for k, v in labels.items() if v}}
        out["alertname"] = alertname
        out["severity"] = self.severity[kind]
        return out

    def _url(self, anchor: str) -> str:
        base = self.external_url.rstrip("/")
        return f"{base}/#{urllib.parse.quote(anchor, safe='')}" if base else ""

    def _runbook(self, anchor: str) -> str:
        return runbook_url(self.runbook_base, anchor)

    def _fire(
        self,
        labels: dict[str, str],
        annotations: dict[str, str],
        url: str,
        now: float,
        *,
        urgent: bool = True,
    ) -> None:
        """Hold an alert; a changed description of a held one is sent now when ``urgent``
        (new evidence), else with the next resend (a verdict's observed value drifting)."""
        key = tuple(sorted(labels.items()))
        self._resolved.pop(key, None)
        held = self._held.get(key)
        if held is None:
            if self.chaos:
                active = "; ".join(sorted(self.chaos.values()))
                annotations = {
                    **annotations,
                    "chaos": f"fired while chaos actions were active: {active}",
                }
            alert = Alert(labels, annotations, now, now + 3 * self.resend_interval, url)
            self._held[key] = _Held(alert)
            return
        if held.alert.annotations != annotations:
            held.alert = replace(held.alert, annotations=annotations)
            if urgent:
                held.sent_at = None

    def _clear(self, labels: dict[str, str], now: float) -> None:
        key = tuple(sorted(labels.items()))
        held = self._held.pop(key, None)
        if held is not None:
            self._resolved[key] = replace(held.alert, ends_at=now)

    # -- inputs ---------------------------------------------------------------------------

    def check_failed(
        self,
        *,
        suite: str,
        scenario: str,
        target: str,
        check: str,
        message: str,
        expected: str,
        observed: str,
        evidence: Sequence[str],
        now: float,
    ) -> None:
        labels = self._labels(
            "SoakmonCheckFailed", "check", suite=suite, scenario=scenario, check=check,
            target=target,
        )  # fmt: skip
        url = self._url(f"violation-{suite}-{scenario}-{check}")
        annotations = {
            "summary": f"{suite} / {scenario}: check {check} failed on {target}",
            "description": describe(
                message,
                expected,
                observed,
                evidence,
                lines=self.evidence_lines,
                limit=self.description_max_chars,
                more_at=url or "the daemon's /api/status",
            ),
            "runbook_url": self._runbook("invariant-violated"),
        }
        self._fire(labels, annotations, url, now)

    def check_recovered(
        self, *, suite: str, scenario: str, target: str, check: str, now: float
    ) -> None:
        labels = self._labels(
            "SoakmonCheckFailed", "check", suite=suite, scenario=scenario, check=check,
            target=target,
        )  # fmt: skip
        self._clear(labels, now)

    def verdict(
        self,
        *,
        target: str,
        name: str,
        passed: bool,
        conclusive: bool,
        message: str,
        expected: str,
        observed: str,
        now: float,
    ) -> None:
        """A verdict evaluation. An inconclusive one (too little data) never fires; if its
        alert was held, it is no longer resent (nor resolved: nobody knows) and expires at its
        ``endsAt`` unless the verdict fails again."""
        slo = name in SLO_VERDICTS
        alertname = "SoakmonSLOBroken" if slo else "SoakmonSoakAnalysisFailed"
        labels = self._labels(alertname, "slo" if slo else "analysis", check=name, target=target)
        if not conclusive:
            self._held.pop(tuple(sorted(labels.items())), None)
            return
        if passed:
            self._clear(labels, now)
            return
        url = self._url(f"analysis-{target}-{name}")
        what = "SLO" if slo else "soak analysis"
        annotations = {
            "summary": f"{target}: {what} {name} broken",
            "description": describe(
                message,
                expected,
                observed,
                (),
                lines=0,
                limit=self.description_max_chars,
                more_at=url,
            ),
            "runbook_url": self._runbook("slo-broken" if slo else "soak-analysis-failing"),
        }
        self._fire(labels, annotations, url, now, urgent=False)

    def run_finished(self, *, suite: str, target: str, error: str | None, now: float) -> None:
        """A crashed or timed-out run fires; the next run that completes resolves it."""
        labels = self._labels("SoakmonSuiteRunError", "run_error", suite=suite, target=target)
        if error is None:
            self._clear(labels, now)
            return
        annotations = {
            "summary": f"{suite}: run did not complete on {target}",
            "description": truncate(error, self.description_max_chars),
            "runbook_url": self._runbook("suite-runs-failing"),
        }
        self._fire(labels, annotations, self._url(f"suite-{suite}"), now)

    # -- outputs --------------------------------------------------------------------------

    def due(self, now: float) -> list[Alert]:
        """What to send now: resolutions, new or changed alerts, and resends that are due.
        Each returned active alert gets ``endsAt`` three resend intervals ahead of ``now``."""
        out = list(self._resolved.values())
        self._resolved.clear()
        for held in self._held.values():
            if held.sent_at is None or now - held.sent_at >= self.resend_interval:
                held.alert = replace(held.alert, ends_at=now + 3 * self.resend_interval)
                held.sent_at = now
                out.append(held.alert)
        return out

    def resolve_all(self, now: float) -> list[Alert]:
        """Resolve everything held (clean shutdown with ``resolve_on_shutdown``)."""
        for key in list(self._held):
            held = self._held.pop(key)
            self._resolved[key] = replace(held.alert, ends_at=now)
        return self.due(now)
