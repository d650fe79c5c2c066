"""What a saved scenario sends beyond its operation (``soakmon init``'s starter suite and
``probe --save``): the drafted operations by the OpenAPI operation they map, their arguments
from a drawn body, the setup that creates what body fields reference (``refs.py``) and the
balance or item a built-in operation spends."""

from __future__ import annotations

import json
import re
from typing import Any

from monitor.openapi.draft import Draft, DraftOp
from monitor.openapi.model import ApiOperation
from monitor.openapi.probe import ProbeOutcome
from monitor.openapi.refs import BodyRef


class DraftOps:
    """The drafted operations by the OpenAPI operation they map (method and path)."""

    def __init__(self, draft: Draft) -> None:
        self.by_key: dict[tuple[str, str], DraftOp] = {}
        for op in draft.ops:
            if "steps" not in op.fields:
                self.by_key.setdefault((op.api.method, op.api.path), op)

    def get(self, op: ApiOperation | None) -> DraftOp | None:
        return None if op is None else self.by_key.get((op.method, op.path))


def arg_names(template: Any) -> list[str]:
    return re.findall(r"{(?:args\.)?([A-Za-z0-9_]+)}", json.dumps(template))


def op_args(
    draft_op: DraftOp, api: ApiOperation, params: dict[str, str], body: Any, index: int
) -> dict[str, Any]:
    """Arguments of a drafted operation: path parameters (by position) and body fields."""
    args: dict[str, Any] = {}
    placeholders = re.findall(r"{([^}]+)}", str(draft_op.fields.get("path", "")))
    for mine, theirs in zip(placeholders, api.path_params, strict=False):
        if theirs in params:
            args[mine] = params[theirs]
    values = leaves(body)
    templates = (draft_op.fields.get("body"), draft_op.fields.get("query"))
    required = {n for t in templates for n in re.findall(r"(?<!\$){(\w+)}", json.dumps(t))}
    for name in arg_names(templates[0]) + arg_names(templates[1]):
        if name in values:
            value = values[name]
            if isinstance(value, str) and value.startswith("soak-"):
                value = f"soak{index}-{name[:6]}-${{vars.run_id}}"
            args[name] = value
        elif name in required and name not in args:  # the draft's own (a sign-up's username)
            args[name] = f"soak{index}-{name[:6]}-${{vars.run_id}}"
    return args


def leaves(value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for key, inner in value.items():
            if isinstance(inner, dict):
                out.update(leaves(inner))
            else:
                out[re.sub(r"[^A-Za-z0-9_]", "_", key)] = inner
    return out


#: What a built-in operation spends, which no document says: the starter suite gives the user
#: a balance (``fund``) or a reward item (``stock``) first, so the scenario exercises it.
SPENDS = {
    "points.deduct": "fund",
    "points.transfer": "fund",
    "top3.set": "fund",
    "rewards.buy": "fund",
    "rewards.redeem": "stock",
}
FUNDS = 1000


def preconditions(draft: Draft, target: DraftOp, outcome: ProbeOutcome) -> list[dict[str, Any]]:
    """``fund`` / ``stock`` before a built-in operation that spends points or items, when the
    draft maps what those steps use (``points.balance`` and a way to add points; for
    ``stock``, ``rewards.list`` too)."""
    step = SPENDS.get(target.builtin or "")
    names = {op.name for op in draft.ops}
    funded = "points.balance" in names and bool(names & {"points.add", "gift.claim"})
    if step is None or not funded or (step == "stock" and "rewards.list" not in names):
        return []
    if step == "fund":
        return [{"op": "fund", "user": "alice", "args": {"amount": FUNDS}}]
    reward = (outcome.replay.get("body") or {}).get("reward")
    if not isinstance(reward, str):
        return []
    args = {"reward": reward, "quantity": 1, "price": FUNDS // 2}
    return [{"op": "stock", "user": "alice", "args": args}]


def ref_steps(
    ops: DraftOps, refs: list[BodyRef], outcome: ProbeOutcome, index: int
) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
    """Setup steps that make what body fields reference (``refs.py``), and each field's value
    (a template, or a list of them); None when a creating operation is not in the profile."""
    steps: list[dict[str, Any]] = []
    values: dict[str, Any] = {}
    for n, ref in enumerate(refs):
        made: list[str] = []
        for k in range(ref.count):
            if ref.own:
                made.append("${state.alice.user_id}")
                continue
            save = f"ref{n}_{k}"
            if ref.op is None:
                steps.append({"op": "register", "save": save})
                made.append(f"${{state.{save}.user_id}}")
                continue
            maker = ops.get(ref.op)
            if maker is None:
                return None
            args = op_args(maker, ref.op, {}, example(outcome, ref.op), index)
            steps.append({"op": maker.name, "user": "alice", "args": args, "save": save})
            made.append(f"${{state.{save}.{ref.answer or 'id'}}}")
        values[ref.field] = made if ref.many else made[0]
    return steps, values


def ref_args(draft_op: DraftOp, refs: list[BodyRef], values: dict[str, Any]) -> dict[str, Any]:
    """The arguments of ``draft_op`` that carry the referenced values."""
    names = set(arg_names(draft_op.fields.get("body")))
    out: dict[str, Any] = {}
    for ref in refs:
        arg = re.sub(r"[^A-Za-z0-9_]", "_", ref.field)
        if arg in names and ref.field in values:
            out[arg] = values[ref.field]
    return out


def example(outcome: ProbeOutcome, op: ApiOperation) -> Any:
    return outcome.replay.get("parents", {}).get(op.label)
