"""``suites:`` — scheduled suite runs."""

from __future__ import annotations

import random

from monitor.daemon.config import suite_keys
from monitor.daemon.jobs import SuiteLoop
from monitor.daemon.loopkinds import LOOP_KINDS, LoopContext, Loops


@LOOP_KINDS.register("suite")
def build(ctx: LoopContext) -> Loops:
    cfg = ctx.config
    for job, (key, _) in zip(cfg.suites, suite_keys(cfg), strict=True):
        # a suite file of your own is labelled by its file name, as built-ins are
        sched = job.schedule
        text = f"every {sched.every:g}s" if sched.every is not None else f"cron {sched.cron}"
        ctx.state.add_suite(key, job.target, text)
        loop = SuiteLoop(
            key,
            job,
            cfg.targets[job.target],
            bus=ctx.bus,
            hooks=ctx.hooks(key, "suite", job.target),
            rng=random.Random(ctx.rng.random()),
            runner=ctx.suite_runner,
            tracer=ctx.tracer_provider.get_tracer("soakmon.daemon"),
        )
        yield f"suite:{key}", loop.run
