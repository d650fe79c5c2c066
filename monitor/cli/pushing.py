"""``soakmon run --pushgateway URL``: record the run under the daemon's metric names and push it
when the run ends — passed, failed, or with the target unreachable."""

from __future__ import annotations

import time
from dataclasses import replace

import typer

from monitor.cli.suiterun import Selection, usage_error
from monitor.daemon.exporter import record_attempts
from monitor.daemon.soak import outcome_label
from monitor.engine import RequestHooks
from monitor.engine.spec import RequestRecord
from monitor.observe.push import PushError, RunMetrics
from monitor.suites.loading.loader import LoadedSuite
from monitor.suites.loading.sharding import Shard, scenario_keys, take_shard
from monitor.suites.results import RunResult


class RunRecorder:
    """Request metrics live (engine hook), check and run results at the end."""

    def __init__(self, url: str, job: str, instance: str, target: str) -> None:
        self.url, self.job, self.instance = url, job, instance
        self.target = target  # the `target` label: the run's --target URL
        self.metrics = RunMetrics()
        self.hooks = RequestHooks()
        self.hooks.add_request_done(self._request_done)
        self._current: tuple[str, str] | None = None

    def on_start(self, suite: str, scenario: str) -> None:
        self._current = (suite, scenario)

    def _request_done(self, record: RequestRecord) -> None:
        if self._current is None:  # the reachability probe before the first scenario
            return
        suite, scenario = self._current
        self.metrics.suite(suite).observe_request(
            suite=suite,
            scenario=scenario,
            operation=record.name,
            outcome=outcome_label(record),
            seconds=record.duration_ms / 1000.0,
            target=self.target,
        )

    def record(self, run: RunResult) -> None:
        now = time.time()
        for suite in run.suites:
            metrics = self.metrics.suite(suite.name)
            seconds = sum(sc.duration_s for sc in suite.scenarios)
            metrics.record_run(
                suite=suite.name, passed=suite.passed, seconds=seconds, finished_at=now
            )
            for scenario in suite.scenarios:
                metrics.record_outcomes(
                    suite=suite.name, scenario=scenario.name, outcomes=scenario.outcomes,
                    target=self.target,
                )  # fmt: skip
                record_attempts(metrics, suite.name, self.target, scenario)
                for check in scenario.checks:
                    metrics.record_check(
                        suite=suite.name, scenario=scenario.name, check=check.name,
                        passed=check.passed, status=check.status, target=self.target,
                    )  # fmt: skip

    def record_unreachable(self, suites: list[LoadedSuite]) -> None:
        """Every selected suite counts as a failed run."""
        now = time.time()
        for loaded in suites:
            name = loaded.suite.name
            self.metrics.suite(name).record_run(
                suite=name, passed=False, seconds=0.0, finished_at=now
            )

    def push(self) -> None:
        """Push; a failure is reported on stderr and does not change the run's exit code."""
        try:
            pushed = self.metrics.push(self.url, job=self.job, instance=self.instance)
        except PushError as exc:
            typer.echo(f"error: metrics not pushed: {exc}", err=True)
            return
        typer.echo(
            f"pushed metrics of {len(pushed)} suite(s) to {self.url} "
            f"(job={self.job}, instance={self.instance})",
            err=True,
        )


def apply_shard(selection: Selection, spec: str | None) -> tuple[Selection, str]:
    """The selection cut to ``--shard I/N`` and the ``instance`` label of its pushed metrics
    (``shard-I-of-N``, or ``all`` for an unsharded run)."""
    if spec is None:
        return selection, "all"
    try:
        shard = Shard.parse(spec)
    except ValueError as exc:
        raise usage_error(str(exc)) from None
    suites = take_shard(selection.suites, shard)
    total = len(scenario_keys(selection.suites))
    mine = len(scenario_keys(suites))
    typer.echo(f"shard {shard.index}/{shard.count}: {mine} of {total} scenario(s)", err=True)
    return replace(selection, suites=suites), shard.label
