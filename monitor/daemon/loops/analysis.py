"""The soak analyses: SLOs, memory growth, pool saturation, throughput trend, per target."""

from __future__ import annotations

from monitor.daemon.analyzing import AnalysisLoop
from monitor.daemon.loopkinds import LOOP_KINDS, LoopContext, Loops


@LOOP_KINDS.register("analysis")
def build(ctx: LoopContext) -> Loops:
    cfg = ctx.config
    loop = AnalysisLoop(
        list(ctx.watches.values()),
        slo=cfg.slo,
        analysis=cfg.analysis,
        bus=ctx.bus,
    )
    yield "analysis", loop.run
