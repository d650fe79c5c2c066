"""``pod-kill``: delete pods matching a label selector, as a node failure or an eviction would,
and measure how long their controller takes to bring the ready count back.

``prepare`` picks the victims (``count`` or ``percent`` of the live pods, never the monitor's
own, only while ``max_unavailable`` holds: :mod:`monitor.chaos.kube.victims`) and the journal
keeps them with the ready count before the kill. There is nothing to undo afterwards (the
ReplicaSet or StatefulSet replaces the pods). Recovery is measured while the step is held:
from the deletion until as many pods are ready as before, none of them a victim
(``measured.recovered_after_s``, in the report; at most ``recover_within``). ``revert`` waits
for that (a revert after a crash asks again) and fails, naming how many pods are ready, when
they never come back.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated

from pydantic import AliasChoices, Field, field_validator, model_validator

from monitor.chaos.access import ACCESS
from monitor.chaos.action import Action, ActionContext, ActionScope, Record
from monitor.chaos.errors import ActionError
from monitor.chaos.kube import guard as _guard  # noqa: F401 - registers the namespace guard
from monitor.chaos.kube.api import KubeApiError, PodState
from monitor.chaos.kube.common import KubeActionMixin, Namespace, Seconds, wait_until
from monitor.chaos.kube.identity import own_identity
from monitor.chaos.kube.victims import Budget, NoVictims, pick_victims
from monitor.chaos.registry import ActionSettings, action_kind


class PodKillSettings(ActionSettings):
    namespace: Namespace
    """Namespace of the pods (checked against the experiment's allowed namespaces)."""
    selector: Annotated[str, Field(min_length=1)]
    """Label selector of the pods, as `kubectl -l` takes it (`app=api,tier!=db`)."""
    count: Annotated[int, Field(gt=0)] | None = None
    """How many pods to delete. Default: 1 (unless `percent` is given)."""
    percent: Annotated[float, Field(gt=0, le=100)] | None = None
    """Percentage of the matching pods to delete, rounded down but at least 1. Default: none."""
    max_unavailable: int | str = Field(
        1, validation_alias=AliasChoices("max_unavailable", "maxUnavailable")
    )
    """At most this many matching pods may be unavailable (not ready or terminating) counting
    the ones killed: a number or a percentage like `25%`, as in a PodDisruptionBudget; the
    kill is refused otherwise. Default: 1."""
    grace_period: Annotated[int, Field(ge=0)] | None = None
    """Seconds the pods get to stop (0: at once, like a crash). Default: the pods' own."""
    recover_within: Seconds = 45.0
    """How long revert waits for the ready count to come back before it fails. Default: 45s."""

    @field_validator("max_unavailable")
    @classmethod
    def _budget(cls, value: int | str) -> int | str:
        Budget.parse(value)
        return value

    @model_validator(mode="after")
    def _one_amount(self) -> PodKillSettings:
        if self.count is not None and self.percent is not None:
            raise ValueError("give one of `count` and `percent`, not both")
        return self

    def where(self) -> str:
        return f"{self.selector!r} in {self.namespace}"


def _recovered(pods: Sequence[PodState], victims: set[str], ready_before: int) -> int | None:
    ready = sum(1 for p in pods if p.ready and p.name not in victims)
    return ready if ready >= ready_before else None


@action_kind("pod-kill", settings=PodKillSettings, access=ACCESS["pod-kill"], instant=True)
class PodKill(KubeActionMixin, Action[PodKillSettings]):
    """Delete pods by label selector; revert waits until their controller has replaced them."""

    rng: random.Random = random.Random()

    def describe(self) -> str:
        s = self.settings
        amount = (
            f"{s.percent:g}% of the pods" if s.percent is not None else (f"{s.count or 1} pod(s)")
        )
        grace = "" if s.grace_period is None else f" (grace period {s.grace_period}s)"
        return (
            f"delete {amount} matching {s.where()}{grace}, keeping at most "
            f"{s.max_unavailable} unavailable; wait up to {s.recover_within:g}s for recovery"
        )

    def scopes(self, record: Record | None = None) -> Sequence[ActionScope]:
        return [ActionScope("namespace", self.settings.namespace)]

    async def prepare(self, ctx: ActionContext) -> Record:
        s = self.settings
        try:
            pods = await self.call(self.api.list_pods, s.namespace, s.selector)
        except KubeApiError as exc:
            raise ActionError(f"pod-kill {s.where()}: {exc}") from exc
        try:
            pick = pick_victims(
                pods,
                count=s.count if s.count is not None or s.percent is not None else 1,
                percent=s.percent,
                max_unavailable=Budget.parse(s.max_unavailable),
                own_pod=own_identity().pod,
                rng=self.rng,
                where=s.where(),
            )
        except NoVictims as exc:
            raise ActionError(f"pod-kill: {exc}") from exc
        return {
            "namespace": s.namespace,
            "selector": s.selector,
            "victims": list(pick.victims),
            "matching": pick.matching,
            "ready_before": pick.ready,
        }

    async def inject(self, ctx: ActionContext, record: Record) -> None:
        s = self.settings
        record["deleted_at"] = time.time()
        deleted = []
        for name in record["victims"]:
            try:
                if await self.call(self.api.delete_pod, s.namespace, name, s.grace_period):
                    deleted.append(name)
            except KubeApiError as exc:
                record["deleted"] = deleted
                raise ActionError(f"pod-kill {s.where()}: {exc}") from exc
        record["deleted"] = deleted
        self.start_watch(
            self._check(record), float(record["deleted_at"]), self.settings.recover_within
        )

    def _check(self, record: Record) -> Callable[[], Awaitable[int | None]]:
        s = self.settings
        victims = set(record.get("victims", ()))
        ready_before = int(record.get("ready_before", 0))

        async def check() -> int | None:
            pods = await self.call(self.api.list_pods, s.namespace, s.selector)
            return _recovered(pods, victims, ready_before)

        return check

    async def revert(self, ctx: ActionContext, record: Record) -> None:
        """Nothing to undo: wait until the controller has brought the ready count back."""
        if "deleted_at" not in record:
            return  # never injected
        s = self.settings
        victims = set(record.get("victims", ()))
        ready_before = int(record.get("ready_before", 0))
        took, wait_s = await self.watched(s.recover_within)  # measured while the step was held
        if took is not None:
            record["measured"] = {"recovered_after_s": round(took, 3)}
            return
        try:
            got, _ = await wait_until(self._check(record), wait_s)
        except KubeApiError as exc:
            raise ActionError(f"pod-kill {s.where()}: waiting for recovery: {exc}") from exc
        if not got:
            pods = await self.call(self.api.list_pods, s.namespace, s.selector)
            ready = sum(1 for p in pods if p.ready and p.name not in victims)
            raise ActionError(
                f"pod-kill {s.where()}: not recovered within {s.recover_within:g}s: "
                f"{ready} of {ready_before} pod(s) ready again"
            )
        took = round(time.time() - float(record["deleted_at"]), 3)
        record["measured"] = {"recovered_after_s": took}
