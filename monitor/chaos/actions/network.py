"""Network faults through Toxiproxy: ``latency``, ``bandwidth``, ``reset-peer``, ``timeout``
(``timeout: 0`` is a blackhole) and ``slicer``, each a toxic added to a proxy for the step's
duration and removed on revert.

Put a Toxiproxy proxy between soakmon and the target (point the target URL at the proxy's
listen address) or between the target and its database (point the target's database URL at
it). ``toxicity`` is the share of *connections* the toxic applies to (Toxiproxy draws once per
connection), so ``reset-peer`` with ``toxicity: 0.05`` resets 5 % of new connections.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import Field, model_validator

from monitor.chaos.action import Action, ActionContext, ActionScope, Record
from monitor.chaos.registry import ActionSettings, action_kind
from monitor.chaos.toxiproxy import Toxiproxy

Millis = Annotated[int, Field(ge=0)]


class ToxicSettings(ActionSettings):
    api: Annotated[str, Field(pattern=r"^https?://")] = "http://127.0.0.1:8474"
    """Toxiproxy's API. Default: http://127.0.0.1:8474."""
    proxy: Annotated[str, Field(min_length=1)]
    """Name of the proxy the fault goes into."""
    listen: str | None = None
    """With `upstream`: create the proxy (listening here, e.g. 127.0.0.1:15432) when it does
    not exist yet; it is left in place after the experiment. Default: none (must exist)."""
    upstream: str | None = None
    """With `listen`: where the created proxy forwards to (e.g. 127.0.0.1:5432)."""
    stream: Literal["downstream", "upstream", "both"] = "downstream"
    """Direction: `downstream` (server to client), `upstream` (client to server), or both."""
    toxicity: Annotated[float, Field(ge=0, le=1)] = 1.0
    """Share of connections affected. Default: 1."""

    @model_validator(mode="after")
    def _create_both(self) -> ToxicSettings:
        if (self.listen is None) != (self.upstream is None):
            raise ValueError("give both `listen` and `upstream` (to create the proxy), or neither")
        return self


T = TypeVar("T", bound=ToxicSettings)


class ToxicAction(Action[T], Generic[T]):
    """Base of the Toxiproxy kinds: one toxic per stream, named after the action id."""

    toxic_type = ""

    def attributes(self) -> dict[str, Any]:
        raise NotImplementedError

    def fault(self) -> str:
        raise NotImplementedError

    def describe(self) -> str:
        s = self.settings
        share = f" on {s.toxicity:.0%} of connections" if s.toxicity < 1 else ""
        return f"{self.fault()} ({s.stream}){share} through toxiproxy proxy {s.proxy!r}"

    def scopes(self, record: Record | None = None) -> list[ActionScope]:
        return [ActionScope("proxy", self.settings.proxy)]

    def _names(self, ctx: ActionContext) -> list[tuple[str, str]]:
        streams = ["downstream", "upstream"] if self.settings.stream == "both" else [
            self.settings.stream
        ]  # fmt: skip
        return [(f"soakmon-{ctx.id}-{s}", s) for s in streams]

    async def setup(self) -> None:
        s = self.settings
        await Toxiproxy(s.api).ensure_proxy(s.proxy, s.listen, s.upstream)

    async def prepare(self, ctx: ActionContext) -> Record:
        await self.setup()
        return {"toxics": [name for name, _ in self._names(ctx)]}

    async def inject(self, ctx: ActionContext, record: Record) -> None:
        api = Toxiproxy(self.settings.api)
        for name, stream in self._names(ctx):
            toxic = {
                "name": name, "type": self.toxic_type, "stream": stream,
                "toxicity": self.settings.toxicity, "attributes": self.attributes(),
            }  # fmt: skip
            await api.add_toxic(self.settings.proxy, toxic)

    async def revert(self, ctx: ActionContext, record: Record) -> None:
        api = Toxiproxy(self.settings.api)
        for name in record.get("toxics") or [n for n, _ in self._names(ctx)]:
            await api.remove_toxic(self.settings.proxy, name)


class LatencySettings(ToxicSettings):
    latency: Millis
    """Added delay, milliseconds."""
    jitter: Millis = 0
    """Random variation of the delay, +/- milliseconds. Default: 0."""


@action_kind("latency", settings=LatencySettings)
class Latency(ToxicAction[LatencySettings]):
    """Delay data through a Toxiproxy proxy (latency +/- jitter)."""

    toxic_type = "latency"

    def attributes(self) -> dict[str, Any]:
        s = self.settings
        return {"latency": s.latency, "jitter": s.jitter}

    def fault(self) -> str:
        s = self.settings
        return f"add {s.latency} +/- {s.jitter} ms latency"


class BandwidthSettings(ToxicSettings):
    rate: Annotated[int, Field(ge=0)]
    """Limit, KB/s."""


@action_kind("bandwidth", settings=BandwidthSettings)
class Bandwidth(ToxicAction[BandwidthSettings]):
    """Limit the bandwidth of a Toxiproxy proxy."""

    toxic_type = "bandwidth"

    def attributes(self) -> dict[str, Any]:
        return {"rate": self.settings.rate}

    def fault(self) -> str:
        return f"limit bandwidth to {self.settings.rate} KB/s"


class ResetSettings(ToxicSettings):
    reset_after: Millis = 0
    """Reset the connection (TCP RST) this long after data arrives. Default: at once."""


@action_kind("reset-peer", settings=ResetSettings)
class ResetPeer(ToxicAction[ResetSettings]):
    """Reset connections through a Toxiproxy proxy (TCP RST: connection reset by peer)."""

    toxic_type = "reset_peer"

    def attributes(self) -> dict[str, Any]:
        return {"timeout": self.settings.reset_after}

    def fault(self) -> str:
        return f"reset connections {self.settings.reset_after} ms after data arrives"


class TimeoutSettings(ToxicSettings):
    timeout: Millis = 0
    """Drop data and close the connection after this long; 0 keeps it open and silent (a
    blackhole). Default: 0."""


@action_kind("timeout", settings=TimeoutSettings)
class Timeout(ToxicAction[TimeoutSettings]):
    """Stop all data through a Toxiproxy proxy (close after a timeout, or blackhole with 0)."""

    toxic_type = "timeout"

    def attributes(self) -> dict[str, Any]:
        return {"timeout": self.settings.timeout}

    def fault(self) -> str:
        t = self.settings.timeout
        return "blackhole all data" if t == 0 else f"drop data and close after {t} ms"


class SlicerSettings(ToxicSettings):
    average_size: Annotated[int, Field(gt=0)] = 64
    """Average slice size, bytes. Default: 64."""
    size_variation: Annotated[int, Field(ge=0)] = 32
    """Slice size variation, bytes (less than `average_size`). Default: 32."""
    delay: Annotated[int, Field(ge=0)] = 10
    """Delay between slices, microseconds. Default: 10."""

    @model_validator(mode="after")
    def _variation(self) -> SlicerSettings:
        if self.size_variation >= self.average_size:
            raise ValueError("`size_variation` must be below `average_size`")
        return self


@action_kind("slicer", settings=SlicerSettings)
class Slicer(ToxicAction[SlicerSettings]):
    """Slice data through a Toxiproxy proxy into small packets with delays between them."""

    toxic_type = "slicer"

    def attributes(self) -> dict[str, Any]:
        s = self.settings
        return {"average_size": s.average_size, "size_variation": s.size_variation,
                "delay": s.delay}  # fmt: skip

    def fault(self) -> str:
        s = self.settings
        return f"slice data into ~{s.average_size} B packets {s.delay} us apart"
