"""The strategy object: which implementation the service uses for each fault-prone operation.

``Behaviour()`` is the correct service. A fault (``monitor.reference.faults``) returns a copy with
exactly one concern replaced by a broken variant; handlers only ever call through this object.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from monitor.reference.database import DEFAULT_POLICY, Database
from monitor.reference.ops import points, rewards, tasks, top3
from monitor.reference.ops.common import new_id
from monitor.reference.ops.points import PointsChange, PointsView
from monitor.reference.ops.tasks import TaskRow
from monitor.reference.retry import RetryPolicy

PointsWrite = Callable[[Database, str, int, str], Awaitable[PointsChange]]
PointsRead = Callable[[Database, str], Awaitable[PointsView]]
Top3Write = Callable[[Database, str, str, Sequence[str]], Awaitable[None]]
TaskAction = Callable[[Database, str, str], Awaitable[TaskRow]]
GiftClaim = Callable[[Database, str], Awaitable[None]]
RewardGrant = Callable[[Database, str, str, int], Awaitable[int]]
RewardRedeem = Callable[[Database, str, str], Awaitable[int]]
RewardBuy = Callable[[Database, str, str], Awaitable[tuple[int, int]]]
RequestHook = Callable[[Database], Awaitable[None]]
ShutdownHook = Callable[[], Awaitable[None]]

DEFAULT_RACE_WINDOW = 0.02
"""Seconds a race fault's broken implementation pauses inside its race window by default."""


@dataclass(frozen=True)
class Behaviour:
    """Implementations of the operations faults may replace (defaults: the correct ones)."""

    add_points: PointsWrite = points.add_points
    deduct_points: PointsWrite = points.deduct_points
    read_points: PointsRead = points.read_points
    transfer_policy: RetryPolicy = DEFAULT_POLICY
    """Retry policy of /points/transfer (deadlock and serialization victims)."""
    set_top3: Top3Write = top3.set_top3
    complete_task: TaskAction = tasks.complete_task
    new_task_id: Callable[[], str] = new_id
    honour_if_match: bool = True
    """Whether PATCH /tasks/{id} checks the If-Match version."""
    welcome_gift: GiftClaim = rewards.welcome_gift
    grant_reward: RewardGrant = rewards.grant
    redeem_reward: RewardRedeem = rewards.redeem
    buy_reward: RewardBuy = rewards.buy
    request_hooks: tuple[RequestHook, ...] = ()
    """Run before every API request (not the operations endpoints)."""
    shutdown_hooks: tuple[ShutdownHook, ...] = ()
    """Run once when the service stops, before the engine is disposed."""
    race_window: float = DEFAULT_RACE_WINDOW
    """Seconds a race fault pauses inside its window (between its read and its write, or
    between its commits); 0 leaves the natural window: no pause, not even a yield."""
