"""``soak:`` — continuous load, plain requests or profile operations."""

from __future__ import annotations

from monitor.analysis.window import RollingWindow
from monitor.daemon.loopkinds import LOOP_KINDS, LoopContext, Loops
from monitor.daemon.soak import SoakLoop, planned_transport
from monitor.daemon.soak_processes import SoakProcesses, processes_of
from monitor.daemon.soak_profile import ProfileSoakLoop


@LOOP_KINDS.register("soak")
def build(ctx: LoopContext) -> Loops:
    cfg = ctx.config
    for soak in cfg.soak:
        ctx.watches[soak.target].throughput[soak.name] = RollingWindow(
            cfg.analysis.horizon, max_samples=720
        )
        target = cfg.targets[soak.target]
        ctx.state.soaks[soak.name] = {"target": soak.target}
        if soak.requests:  # known now (an operations soak says it once its profile is loaded)
            ctx.state.soaks[soak.name]["transport"] = planned_transport(soak, target)
        hooks = ctx.hooks("soak", soak.name, soak.target)
        loop: SoakLoop | ProfileSoakLoop | SoakProcesses
        if soak.operations:
            loop = ProfileSoakLoop(soak, target, bus=ctx.bus, hooks=hooks)
        elif (processes := processes_of(soak)) > 1:
            loop = SoakProcesses(
                soak, target, bus=ctx.bus, metrics=ctx.metrics, processes=processes,
                tracer=hooks.tracer,
            )  # fmt: skip
        else:
            loop = SoakLoop(soak, target, bus=ctx.bus, hooks=hooks)
        yield f"soak:{soak.name}", loop.run
