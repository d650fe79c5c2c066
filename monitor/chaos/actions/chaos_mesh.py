"""``chaos-mesh``: a Chaos Mesh resource (``PodChaos``, ``NetworkChaos``, ``StressChaos``,
``IOChaos``, ``HTTPChaos``) created for the step's duration and deleted on revert.

Only when the cluster has Chaos Mesh: ``prepare`` asks the API server's discovery whether it
serves the kind (``chaos-mesh.org/v1alpha1``) and fails naming what to install otherwise. The
``spec`` is Chaos Mesh's own (``action``, ``mode``, ``selector``, ``delay``, ``stressors``, ...),
validated by the installed CRD when the resource is created; soakmon sets ``spec.duration`` to
the step's duration, so Chaos Mesh ends the fault itself even if soakmon dies first, and names
the resource after the action id (``soakmon-<id>``), so a revert after a crash finds it. Every
namespace the spec's selectors reach is checked by the namespace guard. Revert deletes the
resource and waits, at most ``revert_within``, until it is gone (Chaos Mesh's finalizer holds
it until the fault is recovered on every pod).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, field_validator

from monitor.chaos.access import ACCESS, CHAOS_MESH_GROUP, CHAOS_MESH_KINDS, CHAOS_MESH_VERSION
from monitor.chaos.action import Action, ActionContext, ActionScope, Record
from monitor.chaos.errors import ActionError
from monitor.chaos.kube import guard as _guard  # noqa: F401 - registers the namespace guard
from monitor.chaos.kube.api import KubeApiError
from monitor.chaos.kube.chaosmesh import manifest, resource_name, selected_namespaces
from monitor.chaos.kube.common import KubeActionMixin, Namespace, Seconds, wait_until
from monitor.chaos.registry import ActionSettings, action_kind

ChaosMeshKind = Literal["PodChaos", "NetworkChaos", "StressChaos", "IOChaos", "HTTPChaos"]


class ChaosMeshSettings(ActionSettings):
    resource: ChaosMeshKind
    """The Chaos Mesh kind: PodChaos, NetworkChaos, StressChaos, IOChaos or HTTPChaos."""
    namespace: Namespace
    """Namespace the resource is created in (its selector's default namespace)."""
    spec: dict[str, Any] = Field(min_length=1)
    """The kind's spec as Chaos Mesh documents it, without `duration` (the step's is used)."""
    revert_within: Seconds = 50.0
    """How long revert waits for Chaos Mesh to recover the fault and drop the resource.
    Default: 50s."""

    @field_validator("spec")
    @classmethod
    def _no_duration(cls, spec: dict[str, Any]) -> dict[str, Any]:
        if "duration" in spec:
            raise ValueError("spec.duration is set from the step's `duration`; remove it")
        return spec


@action_kind("chaos-mesh", settings=ChaosMeshSettings, access=ACCESS["chaos-mesh"])
class ChaosMesh(KubeActionMixin, Action[ChaosMeshSettings]):
    """Create a Chaos Mesh resource for the duration; revert deletes it."""

    def describe(self) -> str:
        s = self.settings
        action = s.spec.get("action")
        what = f"{s.resource}" + (f" ({action})" if action else "")
        reach = ", ".join(selected_namespaces(s.spec, s.namespace))
        return f"create a Chaos Mesh {what} in {s.namespace} selecting pods in {reach}"

    def scopes(self, record: Record | None = None) -> Sequence[ActionScope]:
        s = self.settings
        names = {s.namespace, *selected_namespaces(s.spec, s.namespace)}
        return [ActionScope("namespace", n) for n in sorted(names)]

    @property
    def plural(self) -> str:
        return CHAOS_MESH_KINDS[self.settings.resource]

    async def prepare(self, ctx: ActionContext) -> Record:
        s = self.settings
        where = f"{CHAOS_MESH_GROUP}/{CHAOS_MESH_VERSION}"
        try:
            served = await self.call(self.api.served_kinds, CHAOS_MESH_GROUP, CHAOS_MESH_VERSION)
        except KubeApiError as exc:
            raise ActionError(f"chaos-mesh {s.resource}: {exc}") from exc
        if s.resource not in served:
            why = (
                f"its CRD {self.plural}.{CHAOS_MESH_GROUP} is not installed (served: "
                f"{', '.join(sorted(served))})"
                if served
                else f"Chaos Mesh is not installed (no {CHAOS_MESH_GROUP} CRDs)"
            )
            raise ActionError(
                f"chaos-mesh: the cluster does not serve {s.resource} ({where}): {why}"
            )
        return {"namespace": s.namespace, "name": resource_name(ctx.id), "plural": self.plural}

    async def inject(self, ctx: ActionContext, record: Record) -> None:
        s = self.settings
        body = manifest(s.resource, s.namespace, ctx.id, s.spec, ctx.duration_s)
        try:
            created = await self.call(
                self.api.create_custom, CHAOS_MESH_GROUP, CHAOS_MESH_VERSION, s.namespace,
                self.plural, body,
            )  # fmt: skip
        except KubeApiError as exc:
            raise ActionError(f"chaos-mesh: {exc}") from exc
        record["uid"] = created.get("metadata", {}).get("uid")

    async def revert(self, ctx: ActionContext, record: Record) -> None:
        """Delete the resource (gone already is fine) and wait until it is gone."""
        s = self.settings
        name = str(record.get("name") or resource_name(ctx.id))
        args = (CHAOS_MESH_GROUP, CHAOS_MESH_VERSION, s.namespace, self.plural, name)
        try:
            await self.call(self.api.delete_custom, *args)

            async def gone() -> bool:
                return await self.call(self.api.get_custom, *args) is None

            done, _ = await wait_until(gone, s.revert_within)
        except KubeApiError as exc:
            raise ActionError(f"chaos-mesh: {exc}") from exc
        if not done:
            raise ActionError(
                f"chaos-mesh: {s.resource} {s.namespace}/{name} still exists "
                f"{s.revert_within:g}s after its deletion (Chaos Mesh has not recovered the "
                "fault: is its controller running?)"
            )
