"""``probes:`` — periodic resource reads (kinds from ``monitor.observe.probes.registry``)."""

from __future__ import annotations

from monitor.daemon.loopkinds import LOOP_KINDS, LoopContext, Loops
from monitor.daemon.probing import ProbeLoop, build_probe


@LOOP_KINDS.register("probe")
def build(ctx: LoopContext) -> Loops:
    for cfg in ctx.config.probes:
        ctx.state.probes[cfg.name] = {"kind": cfg.kind, "target": cfg.target, "errors": 0}
        loop = ProbeLoop(cfg, build_probe(cfg), bus=ctx.bus)
        yield f"probe:{cfg.name}", loop.run
