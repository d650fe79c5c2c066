"""``chaos:`` — scheduled experiments, and the control loop (start-up revert, kill switch).

An experiment on a daemon target also asks the daemon's state (``steady_state``: its suites'
latest runs and SLO verdicts) before the method, and may abort on the soak's burn rate."""

from __future__ import annotations

import random
from pathlib import Path

from monitor.daemon.chaos_gates import SteadyGate, soak_burn_watch
from monitor.daemon.chaosing import ChaosLoop
from monitor.daemon.config import suite_keys
from monitor.daemon.loopkinds import LOOP_KINDS, LoopContext, Loops


@LOOP_KINDS.register("chaos")
def build(ctx: LoopContext) -> Loops:
    cfg = ctx.config
    control = ctx.chaos
    if control is None:
        return
    yield "chaos:control", control.run
    names = dict(suite_keys(cfg))
    for i, job in enumerate(cfg.chaos.experiments):
        key = f"{Path(job.experiment).stem}#{i}"
        target = cfg.targets[job.target] if job.target else None
        steady, guards = None, []
        if job.target is not None:
            steady = SteadyGate(ctx.state, job.target, job.steady_state, names)
            if job.soak_burn is not None:
                guards.append(soak_burn_watch(ctx.watches[job.target], cfg.slo, job.soak_burn))
        loop = ChaosLoop(key, job, target, control, rng=random.Random(ctx.rng.random()),
                         seed=cfg.seed, steady=steady, guards=guards)  # fmt: skip
        yield f"chaos:{key}", loop.run
