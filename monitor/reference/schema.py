"""Tables of the reference target (SQLAlchemy Core; identical on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)

SCHEMA_VERSION = 1


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both backends (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

schema_info = Table(
    "reference_schema",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("token", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
)

# No CHECK (balance >= 0): the conditional UPDATE is the guarantee, and the faults that break
# it must be able to show a negative balance rather than a constraint error.
balances = Table(
    "balances",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id"), primary_key=True),
    Column("balance", BigInteger, nullable=False),
)

ledger = Table(
    "ledger",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("ref", String(64), nullable=True),
    # Once-only awards carry a key (e.g. ``top3_completion:<task>``); NULLs never collide.
    Column("dedupe_key", String(120), nullable=True, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_ledger_user_seq", "user_id", "seq"),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=True),
    Column("is_completed", Boolean, nullable=False, default=False),
    Column("completed_at", UtcDateTime, nullable=True),
    Column("is_deleted", Boolean, nullable=False, default=False),
    Column("version", Integer, nullable=False, default=1),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_tasks_user", "user_id", "created_at"),
)

# One row per (user, date): the uniqueness guard of the daily Top3.
top3_days = Table(
    "top3_days",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id"), primary_key=True),
    Column("date", String(10), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
)

top3_items = Table(
    "top3_items",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("date", String(10), nullable=False),
    Column("position", Integer, nullable=False),
    Column("task_id", String(36), ForeignKey("tasks.id"), nullable=False),
    Index("ix_top3_items_user_date", "user_id", "date"),
)

# One row per user who claimed the welcome gift: its primary key makes the claim once-only.
welcome_gifts = Table(
    "welcome_gifts",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id"), primary_key=True),
    Column("claimed_at", UtcDateTime, nullable=False),
)

rewards = Table(
    "rewards",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id"), primary_key=True),
    Column("reward", String(32), primary_key=True),
    Column("quantity", BigInteger, nullable=False),
)
