"""Request and response models: they validate requests AND generate the OpenAPI document."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

RewardKind = Literal["time_freeze", "points_boost", "streak_shield"]
REWARD_KINDS: tuple[RewardKind, ...] = ("time_freeze", "points_boost", "streak_shield")

_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"  # PostgreSQL text cannot hold NUL; keep names printable
_NO_NUL = r"^[^\x00]*$"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _integral(value: object) -> object:
    """JSON Schema counts 862.0 as an integer: accept integral floats, nothing else extra."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Amount = Annotated[
    int, Field(ge=1, le=1_000_000_000, description="Points, >= 1."), BeforeValidator(_integral)
]
Text200 = Annotated[str, Field(max_length=200, pattern=_NO_NUL)]
Description = Annotated[str, Field(max_length=2000, pattern=_NO_NUL)]


class Body(BaseModel):
    """A JSON request body: strict types, unknown fields rejected."""

    model_config = ConfigDict(strict=True, extra="forbid")


class Query(BaseModel):
    """Query-string parameters (strings coerced to the declared types)."""

    model_config = ConfigDict(extra="ignore")


class Out(BaseModel):
    """A response body."""


# --- errors and operations -------------------------------------------------------------------
class ErrorOut(Out):
    error: str = Field(description="Stable machine-readable error code.")
    message: str = Field(description="Human-readable explanation.")


class StatusOut(Out):
    status: Literal["ok", "unavailable"]


# --- auth ------------------------------------------------------------------------------------
class RegisterIn(Body):
    username: str = Field(min_length=1, max_length=100, pattern=_NO_CONTROL)


class RegisterOut(Out):
    user_id: UUID
    token: str


# --- points ----------------------------------------------------------------------------------
class PointsOut(Out):
    balance: int
    transaction_count: int


class TransactionsQuery(Query):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=1_000_000_000)


class TransactionOut(Out):
    id: UUID
    amount: int = Field(description="Signed change of the balance.")
    reason: str
    created_at: datetime


class TransactionsOut(Out):
    items: list[TransactionOut]
    total: int


class AmountIn(Body):
    amount: Amount
    reason: Text200 | None = None


class BalanceTxOut(Out):
    balance: int
    transaction_id: UUID


class TransferIn(Body):
    to_user_id: UUID
    amount: Amount


class BalanceOut(Out):
    balance: int


# --- tasks -----------------------------------------------------------------------------------
class TaskCreateIn(Body):
    title: Annotated[str, Field(min_length=1, max_length=200, pattern=_NO_NUL)]
    description: Description | None = None


class TaskPatchIn(Body):
    title: Annotated[str, Field(min_length=1, max_length=200, pattern=_NO_NUL)] | None = None
    description: Description | None = None


class TasksQuery(Query):
    include_deleted: bool = False


class TaskOut(Out):
    id: UUID
    user_id: UUID
    title: str
    description: str | None
    is_completed: bool
    completed_at: datetime | None
    is_deleted: bool
    version: int
    created_at: datetime
    updated_at: datetime


class TaskListOut(Out):
    items: list[TaskOut]


# --- top3 ------------------------------------------------------------------------------------
class Top3In(Body):
    date: date
    task_ids: list[UUID] = Field(
        min_length=1, max_length=3, json_schema_extra={"uniqueItems": True}
    )

    @field_validator("task_ids")
    @classmethod
    def _distinct(cls, value: list[UUID]) -> list[UUID]:
        if len(set(value)) != len(value):
            raise ValueError("task_ids must be distinct")
        return value


class Top3Query(Query):
    date: date

    @field_validator("date", mode="before")
    @classmethod
    def _iso_only(cls, value: object) -> object:
        if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
            raise ValueError("date must be YYYY-MM-DD")
        return value


class Top3Out(Out):
    date: date
    task_ids: list[UUID]
    points_spent: int


class Top3View(Out):
    date: date
    task_ids: list[UUID]


# --- rewards ---------------------------------------------------------------------------------
class RewardItem(Out):
    reward: RewardKind
    quantity: int


class GiftOut(Out):
    points: int
    items: list[RewardItem]


class RewardsOut(Out):
    items: list[RewardItem]


class GrantIn(Body):
    reward: RewardKind
    quantity: Annotated[int, Field(ge=1, le=1_000_000), BeforeValidator(_integral)]


class RedeemIn(Body):
    reward: RewardKind


class RedeemOut(Out):
    reward: RewardKind
    remaining: int


class BuyIn(Body):
    reward: RewardKind


class BuyOut(Out):
    reward: RewardKind
    quantity: int
    balance: int
