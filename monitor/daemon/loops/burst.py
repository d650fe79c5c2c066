"""``bursts:`` — scheduled spikes and their recovery watch."""

from __future__ import annotations

import random

from monitor.daemon.bursting import BurstLoop
from monitor.daemon.loopkinds import LOOP_KINDS, LoopContext, Loops


@LOOP_KINDS.register("burst")
def build(ctx: LoopContext) -> Loops:
    cfg = ctx.config
    for burst in cfg.bursts:
        ctx.state.soaks[f"burst:{burst.name}"] = {"target": burst.target}
        loop = BurstLoop(
            burst,
            cfg.targets[burst.target],
            target_requests=ctx.watches[burst.target].requests,
            bus=ctx.bus,
            hooks=ctx.hooks("burst", burst.name, burst.target),
            rng=random.Random(ctx.rng.random()),
        )
        yield f"burst:{burst.name}", loop.run
