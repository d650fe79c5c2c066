"""``chaos:`` — scheduled experiments, and the control loop (start-up revert, kill switch)."""

from __future__ import annotations

import random
from pathlib import Path

from monitor.daemon.chaosing import ChaosLoop
from monitor.daemon.loopkinds import LOOP_KINDS, LoopContext, Loops


@LOOP_KINDS.register("chaos")
def build(ctx: LoopContext) -> Loops:
    cfg = ctx.config
    control = ctx.chaos
    if control is None:
        return
    yield "chaos:control", control.run
    for i, job in enumerate(cfg.chaos.experiments):
        key = f"{Path(job.experiment).stem}#{i}"
        target = cfg.targets[job.target] if job.target else None
        loop = ChaosLoop(key, job, target, control, rng=random.Random(ctx.rng.random()),
                         seed=cfg.seed)  # fmt: skip
        yield f"chaos:{key}", loop.run
