"""The catalogue of logical operations and canonical outcomes that suites speak.

Suites name operations (``points.deduct``); a profile maps each to HTTP. The catalogue says what
arguments an operation takes and what value its extraction must produce, so that a suite written
once runs against any API that a profile can describe.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Operation:
    """One logical operation: what it does, its arguments and its canonical value."""

    name: str
    description: str
    args: tuple[str, ...] = ()
    value: str = "nothing"


_OPS = [
    Operation("register", "create a user and a session", ("username",), "{user_id, token}"),
    Operation("points.balance", "read the balance", (), "{balance, transaction_count}"),
    Operation("points.add", "add points", ("amount", "reason"), "{balance}"),
    Operation("points.deduct", "deduct points", ("amount", "reason"), "{balance}"),
    Operation("points.transfer", "move points", ("to_user_id", "amount"), "{balance}"),
    Operation(
        "points.transactions", "read the ledger", ("limit",), "[{id, amount, reason, created_at}]"
    ),
    Operation("top3.set", "choose the day's Top3", ("date", "task_ids"), "{date, task_ids}"),
    Operation("top3.get", "read the Top3 of a date", ("date",), "{date, task_ids}"),
    Operation("gift.claim", "claim the welcome gift", (), "{points, items}"),
    Operation("rewards.list", "read reward quantities", (), "[{reward, quantity}]"),
    Operation("rewards.grant", "grant reward items", ("reward", "quantity"), "{reward, quantity}"),
    Operation("rewards.redeem", "redeem one reward item", ("reward",), "{reward, remaining}"),
    Operation("rewards.buy", "buy one reward item with points", ("reward",), "{reward}"),
    Operation("tasks.create", "create a task", ("title", "description"), "task"),
    Operation("tasks.get", "read a task", ("task_id",), "task"),
    Operation(
        "tasks.update", "update a task", ("task_id", "title", "description", "if_match"), "task"
    ),
    Operation("tasks.complete", "complete a task", ("task_id",), "task"),
    Operation("tasks.delete", "delete a task", ("task_id",), "task"),
    Operation("tasks.list", "list tasks", ("include_deleted",), "[task]"),
    Operation("target.metrics", "read the target's own metrics", (), "{metric: value}"),
    Operation(
        "fund",
        "built-in step: bring the balance to at least `amount` via points.add, the welcome gift "
        "or task completions (in that order; accepted down to `minimum`, default `amount`, when "
        "they run dry); not mapped by profiles",
        ("amount", "minimum"),
        "{balance}",
    ),
    Operation(
        "stock",
        "built-in step: bring the user's quantity of `reward` to at least `quantity` via "
        "rewards.grant, rewards.buy (funded with `fund`, `price` points each) or the welcome "
        "gift's items (in that order; the gift only where its count reaches `minimum`, "
        "default `quantity`); not mapped by profiles",
        ("reward", "quantity", "price", "minimum"),
        "{reward, quantity}",
    ),
]

OPERATIONS: Mapping[str, Operation] = MappingProxyType({op.name: op for op in _OPS})

#: Canonical outcome codes (profiles may add their own; these are the ones suites rely on).
OUTCOMES: Mapping[str, str] = MappingProxyType(
    {
        "ok": "the operation took effect",
        "insufficient_points": "balance too low; nothing written",
        "already_set": "Top3 already chosen for that date",
        "already_claimed": "welcome gift already claimed",
        "already_exists": "the name is taken",
        "insufficient_quantity": "reward quantity too low",
        "refused": "refused without saying why (services whose refusals are ambiguous); "
        "accepted wherever any refusal is correct",
        "version_conflict": "the conditional update lost (If-Match mismatch)",
        "not_found": "no such resource",
        "invalid_request": "the request failed validation",
        "unauthorized": "missing or bad credentials",
        "retry_later": "transient failure after retries; nothing written",
        "server_error": "the target failed (5xx) without a known code",
        "error": "an error response the profile does not classify",
        "transport": "no HTTP response (refused, reset, timeout)",
    }
)
