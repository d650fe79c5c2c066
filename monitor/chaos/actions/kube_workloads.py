"""Deployment and StatefulSet faults.

- ``rollout-restart``: what ``kubectl rollout restart`` does (the pod template's
  ``kubectl.kubernetes.io/restartedAt`` annotation), so every pod is replaced by the workload's
  update strategy. Nothing to undo: how long the rollout takes to complete (``kubectl rollout
  status``) is measured while the step is held; ``revert`` waits for it, at most
  ``rollout_within`` from the restart.
- ``scale``: set the replicas to ``replicas`` for the step's duration. ``prepare`` reads the
  replicas through the scale subresource and the journal keeps them before anything changes,
  so ``revert`` restores them also after a crash (the next start reverts from the journal),
  then waits, at most ``recover_within``, until they are all ready again.

A HorizontalPodAutoscaler that owns the workload's replicas fights ``scale``: scale what no
autoscaler manages, or its ``minReplicas`` instead.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Annotated, TypeVar

from pydantic import Field, model_validator

from monitor.chaos.access import ACCESS
from monitor.chaos.action import Action, ActionContext, ActionScope, Record
from monitor.chaos.errors import ActionError
from monitor.chaos.kube import guard as _guard  # noqa: F401 - registers the namespace guard
from monitor.chaos.kube.api import KubeApiError, WorkloadKind, WorkloadState
from monitor.chaos.kube.common import (
    KubeActionMixin,
    Namespace,
    ObjectName,
    Seconds,
    wait_until,
)
from monitor.chaos.registry import ActionSettings, action_kind


class WorkloadSettings(ActionSettings):
    namespace: Namespace
    """Namespace of the workload (checked against the experiment's allowed namespaces)."""
    deployment: ObjectName | None = None
    """Name of the Deployment (give this or `statefulset`)."""
    statefulset: ObjectName | None = None
    """Name of the StatefulSet (give this or `deployment`)."""

    @model_validator(mode="after")
    def _one_workload(self) -> WorkloadSettings:
        if (self.deployment is None) == (self.statefulset is None):
            raise ValueError("give exactly one of `deployment` and `statefulset`")
        return self

    @property
    def workload(self) -> WorkloadKind:
        return "Deployment" if self.deployment is not None else "StatefulSet"

    @property
    def name(self) -> str:
        return str(self.deployment or self.statefulset)

    def what(self) -> str:
        return f"{self.workload} {self.namespace}/{self.name}"


W = TypeVar("W", bound=WorkloadSettings)


class _WorkloadAction(KubeActionMixin, Action[W]):
    def scopes(self, record: Record | None = None) -> Sequence[ActionScope]:
        return [ActionScope("namespace", self.settings.namespace)]

    async def state(self) -> WorkloadState:
        s = self.settings
        return await self.call(self.api.workload, s.workload, s.namespace, s.name)

    def failed(self, doing: str, exc: KubeApiError) -> ActionError:
        return ActionError(f"{self.kind} {self.settings.what()}: {doing}: {exc}")


class RolloutRestartSettings(WorkloadSettings):
    rollout_within: Seconds = 50.0
    """How long revert waits for the rollout to complete before it fails. Default: 50s."""


@action_kind(
    "rollout-restart", settings=RolloutRestartSettings, access=ACCESS["rollout-restart"],
    instant=True,
)  # fmt: skip
class RolloutRestart(_WorkloadAction[RolloutRestartSettings]):
    """Restart every pod of a Deployment or StatefulSet (kubectl rollout restart)."""

    def describe(self) -> str:
        s = self.settings
        return (
            f"rollout restart {s.what()} (replace every pod by its update strategy); wait up "
            f"to {s.rollout_within:g}s for the rollout"
        )

    async def prepare(self, ctx: ActionContext) -> Record:
        try:
            state = await self.state()
        except KubeApiError as exc:
            raise self.failed("reading it", exc) from exc
        return {"replicas": state.replicas, "generation_before": state.generation}

    async def inject(self, ctx: ActionContext, record: Record) -> None:
        s = self.settings
        at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        record["restarted_at"] = time.time()
        try:
            await self.call(self.api.restart, s.workload, s.namespace, s.name, at)
            record["generation"] = (await self.state()).generation
        except KubeApiError as exc:
            raise self.failed("restarting it", exc) from exc
        self.start_watch(self._done(record), float(record["restarted_at"]), s.rollout_within)

    def _done(self, record: Record) -> Callable[[], Awaitable[WorkloadState | None]]:
        generation = int(record.get("generation", 0))

        async def done() -> WorkloadState | None:
            st = await self.state()
            return st if st.rolled_out and st.observed_generation >= generation else None

        return done

    async def revert(self, ctx: ActionContext, record: Record) -> None:
        """Nothing to undo: wait until the rollout is complete."""
        if "restarted_at" not in record:
            return
        s = self.settings
        took, wait_s = await self.watched(s.rollout_within)  # measured while the step was held
        if took is not None:
            record["measured"] = {"rolled_out_after_s": round(took, 3)}
            return
        try:
            got, _ = await wait_until(self._done(record), wait_s)
            if not got:
                st = await self.state()
                raise ActionError(
                    f"rollout-restart {s.what()}: not rolled out within {s.rollout_within:g}s: "
                    f"{st.updated} of {st.replicas} updated, {st.ready} ready"
                )
        except KubeApiError as exc:
            raise self.failed("waiting for the rollout", exc) from exc
        took = round(time.time() - float(record["restarted_at"]), 3)
        record["measured"] = {"rolled_out_after_s": took}


class ScaleSettings(WorkloadSettings):
    replicas: Annotated[int, Field(ge=0)]
    """Replicas while the fault is active (0 takes the workload away)."""
    recover_within: Seconds = 50.0
    """How long revert waits for the restored replicas to be ready before it fails.
    Default: 50s."""


@action_kind("scale", settings=ScaleSettings, access=ACCESS["scale"])
class Scale(_WorkloadAction[ScaleSettings]):
    """Scale a Deployment or StatefulSet to N replicas; revert restores the recorded count."""

    def describe(self) -> str:
        s = self.settings
        return f"scale {s.what()} to {s.replicas} replica(s), then back to its current count"

    async def prepare(self, ctx: ActionContext) -> Record:
        s = self.settings
        try:
            before = await self.call(self.api.replicas, s.workload, s.namespace, s.name)
        except KubeApiError as exc:
            raise self.failed("reading its replicas", exc) from exc
        return {"replicas_before": before}

    async def inject(self, ctx: ActionContext, record: Record) -> None:
        s = self.settings
        record["scaled_at"] = time.time()
        try:
            await self.call(self.api.scale, s.workload, s.namespace, s.name, s.replicas)
        except KubeApiError as exc:
            raise self.failed(f"scaling to {s.replicas}", exc) from exc

    async def revert(self, ctx: ActionContext, record: Record) -> None:
        """Restore the recorded replicas (idempotent), then wait until they are ready."""
        s = self.settings
        before = int(record["replicas_before"])
        t0 = time.time()
        try:
            await self.call(self.api.scale, s.workload, s.namespace, s.name, before)

            async def ready() -> WorkloadState | None:
                # the controller must have seen the restored spec: until then status.ready is
                # the count from before the scale to zero (stale), not the restored pods'
                st = await self.state()
                seen = st.observed_generation >= st.generation
                return st if seen and st.replicas == before and st.ready >= before else None

            got, _ = await wait_until(ready, s.recover_within)
            if not got:
                st = await self.state()
                raise ActionError(
                    f"scale {s.what()}: back to {before} replica(s) but only {st.ready} ready "
                    f"after {s.recover_within:g}s"
                )
        except KubeApiError as exc:
            raise self.failed(f"scaling back to {before}", exc) from exc
        record["measured"] = {"recovered_after_s": round(time.time() - t0, 3)}
