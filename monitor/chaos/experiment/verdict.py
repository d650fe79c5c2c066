"""Verdicts of an experiment: the SLO of a phase, skip reasons, and the final status."""

from __future__ import annotations

import logging

from monitor.chaos.engine import ActionRun
from monitor.chaos.experiment.guardrails import Abort
from monitor.chaos.experiment.model import Experiment
from monitor.chaos.experiment.result import Check, ExperimentPhase, ExperimentResult, SuiteRun
from monitor.chaos.experiment.workload import Stats

log = logging.getLogger(__name__)


def slo_met(stats: Stats, exp: Experiment) -> bool | None:
    if stats.requests < exp.slo.min_requests:
        return None
    return stats.p95_ms < exp.slo.p95_ms and stats.error_rate < exp.slo.error_rate


def slo_text(phase: ExperimentPhase) -> str:
    s = phase.stats
    return f"p95 {s.get('p95_ms')} ms, errors {s.get('error_rate', 0):.1%} of {s.get('requests')}"


def slo_check(phase: ExperimentPhase, exp: Experiment, label: str) -> Check:
    expected = f"p95 < {exp.slo.p95_ms:g} ms and errors < {exp.slo.error_rate:.1%}"
    if phase.slo_met is None:
        observed = f"only {phase.stats.get('requests', 0)} requests (min {exp.slo.min_requests})"
        return Check("SLO met again", None, expected, observed, phase=label)
    return Check("SLO met again", phase.slo_met, expected, slo_text(phase), phase=label)


def failed_text(run: SuiteRun) -> str:
    return f" ({'; '.join(run.failed_checks[:3])})" if run.failed_checks else ""


def skip(result: ExperimentResult, reason: str) -> ExperimentResult:
    log.warning("chaos experiment %s skipped: %s", result.name, reason)
    result.status, result.reason = "skipped", reason
    return result


def verdict(result: ExperimentResult, abort: Abort, failed: list[ActionRun]) -> None:
    bad = [c for c in result.checks if c.passed is False]
    unknown = [c for c in result.checks if c.passed is None]
    if abort.event.is_set():
        result.status, result.reason = "aborted", abort.reason
    elif bad:
        result.status = "failed"
        result.reason = "; ".join(f"{c.name}: {c.observed}" for c in bad[:3])
    elif failed:
        result.status = "error"
        result.reason = "; ".join(f"{r.name}: {r.error}" for r in failed)
    elif unknown:
        result.status = "error"
        result.reason = "; ".join(f"{c.name}: {c.observed}" for c in unknown)
    else:
        result.status, result.reason = "passed", ""


__all__ = ["failed_text", "skip", "slo_check", "slo_met", "slo_text", "verdict"]
