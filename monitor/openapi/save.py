"""Probes as a ready suite + profile (``soakmon probe --save DIR``, and the starter suite of
``soakmon init``): one scenario per probe, in the drafted profile's operation names, that
``soakmon run`` and the daemon replay on a schedule.

A repeat scenario registers a user, creates the parents, fires ``copies`` identical requests
and — when the same request twice in a row was refused the second time — expects one ``ok``
and the refusal for the others (5xx answers fail every scenario automatically). An update
scenario fires updates of different fields together and checks (CEL) that the resource read
back holds every one of them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from monitor.openapi.document import Document
from monitor.openapi.draft import Draft, build_draft, render
from monitor.openapi.outcomes import STATUS_NAMES
from monitor.openapi.probe import ProbeOutcome
from monitor.openapi.scenario_setup import (
    DraftOps,
    example,
    op_args,
    preconditions,
    ref_args,
    ref_steps,
)
from monitor.suites.profile.operations import OUTCOMES

SUITE_FILE, PROFILE_FILE = "probe-suite.yaml", "probe-profile.yaml"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "probe"


def _refusal(draft: Draft, status: int | None, body: str) -> str | None:
    if status is None:
        return None
    code_field = draft.outcomes.code_field
    if code_field:
        try:
            name = json.loads(body).get(code_field)
        except (ValueError, AttributeError):
            name = None
        if isinstance(name, str) and name:
            if name not in OUTCOMES:
                draft.outcomes.names.setdefault(name, f"HTTP {status} answered with {name}")
            return name
        return None
    return STATUS_NAMES.get(status)


def scenario_for(draft: Draft, outcome: ProbeOutcome, index: int) -> dict[str, Any] | None:
    """The replay scenario of one probe (None when it cannot be written in the profile)."""
    found = _scenario(draft, outcome, index)
    if found is None or any(op.name == "register" for op in draft.ops):
        return found
    anonymous: dict[str, Any] = _anonymous(found)  # no sessions: no users to register or act as
    return anonymous


def _anonymous(value: Any) -> Any:
    if isinstance(value, list):
        return [
            _anonymous(v) for v in value if not (isinstance(v, dict) and v.get("op") == "register")
        ]
    if isinstance(value, dict):
        return {k: _anonymous(v) for k, v in value.items() if k != "user"}
    return value


def _scenario(draft: Draft, outcome: ProbeOutcome, index: int) -> dict[str, Any] | None:
    probe = outcome.probe
    ops = DraftOps(draft)
    target = ops.get(probe.op)
    if target is None:
        return None
    setup: list[dict[str, Any]] = [{"op": "register", "save": "alice"}]
    params: dict[str, str] = {}
    for n, producer in enumerate(probe.producers):
        if producer.op is None:
            setup.append({"op": "register", "save": f"other{n}"})
            params[producer.param] = f"${{state.other{n}.{producer.user_field}}}"
            continue
        maker = ops.get(producer.op)
        if maker is None:
            return None
        step = {
            "op": maker.name,
            "user": "alice",
            "args": op_args(maker, producer.op, params, example(outcome, producer.op), index),
            "save": f"parent{n}",
        }
        setup.append(step)
        if producer.field:
            params[producer.param] = f"${{state.parent{n}.{producer.field}}}"
    setup += preconditions(draft, target, outcome)
    made = ref_steps(ops, probe.refs_before + probe.refs, outcome, index)
    if made is None:
        return None
    steps, refs = made
    setup += steps
    if probe.before is not None and (before := ops.get(probe.before)) is not None:
        before_args = op_args(before, probe.before, params, None, index)
        setup.append(
            {
                "op": before.name,
                "user": "alice",
                "args": {**before_args, **ref_args(before, probe.refs_before, refs)},
            }
        )
    replay = outcome.replay
    findings = "; ".join(f.message for f in outcome.findings) or "no finding when saved"
    scenario: dict[str, Any] = {
        "name": _slug(f"concurrent-{target.name}"),
        "description": f"{probe.op.method} {probe.op.path}: {findings}"[:400],
        "setup": setup,
    }
    if probe.kind == "updates":
        groups = replay.get("groups") or []
        get = next((o for o in probe.reads if o.path == probe.op.path), None)
        reader = ops.get(get)
        if reader is None or get is None or not groups:
            return None
        ops_list, checks = [], []
        for g, fields in enumerate(groups):
            args = op_args(target, probe.op, params, fields, index)
            args.update({k: v for k, v in ref_args(target, probe.refs, refs).items()
                         if not replay.get("partial")})  # fmt: skip
            for name, value in fields.items():
                if isinstance(value, str):
                    args[name] = f"soak{index}-{g}-${{vars.run_id}}"
            ops_list.append(
                {
                    "op": target.name,
                    "user": "alice",
                    "args": args,
                    "count": max(1, outcome_copies(outcome) // max(1, len(groups))),
                }
            )
        scenario["phases"] = [{"ops": ops_list}]
        scenario["readback"] = [
            {
                "op": reader.name,
                "user": "alice",
                "args": op_args(reader, get, params, None, index),
                "save": "after",
            }
        ]
        for fields in groups if replay.get("partial") else []:
            for name in fields:
                path = (
                    _field_path(replay.get("final_body"), name)
                    or _schema_path(get.response_schema() if get else None, name)
                    or name
                )
                wrote = f"h.kind == '{target.name}' && h.outcome == 'ok' && '{name}' in h.args"
                checks.append(
                    {
                        "name": f"{name} holds a successful concurrent write (no lost update)",
                        "check": "cel",
                        "args": {
                            "expr": f"!history.exists(h, {wrote}) || history.exists(h, {wrote}"
                            f" && h.args.{name} == state.after.{path})"
                        },
                    }
                )
        scenario["checks"] = [
            _exercised(target.name),
            *(checks or [{"check": "no_server_errors", "args": {"kind": target.name}}]),
        ]
        return scenario
    args = op_args(target, probe.op, params, replay.get("body"), index)
    args.update(ref_args(target, probe.refs, refs))
    scenario["phases"] = [
        {"ops": [{"op": target.name, "user": "alice", "args": args, "count": "${params.copies}"}]}
    ]
    baseline = replay.get("baseline") or []
    second = baseline[1] if len(baseline) > 1 else None
    if second is not None and 400 <= second < 500:
        name = _refusal(draft, second, replay.get("second_body", ""))
        if name:
            scenario["checks"] = [
                {
                    "name": f"one {target.name} succeeds, the others get {name}",
                    "check": "expected_outcomes",
                    "args": {
                        "kind": target.name,
                        "counts": {"ok": 1, name: "${params.copies - 1}"},
                    },
                }
            ]
    if "checks" not in scenario:
        scenario["checks"] = [
            {
                "name": f"no {target.name} answers 5xx",
                "check": "no_server_errors",
                "args": {"kind": target.name},
            }
        ]
    scenario["checks"].insert(0, _exercised(target.name))
    return scenario


def _exercised(kind: str) -> dict[str, Any]:
    """Some request of the scenario's operation succeeded: a run that exercised nothing (every
    request refused) is an error naming the operation, never a pass."""
    return {
        "name": f"some {kind} succeeds (the scenario exercised it)",
        "check": "exercised",
        "args": {"kind": kind},
    }


def outcome_copies(outcome: ProbeOutcome) -> int:
    return len(outcome.replay.get("answers") or []) or 10


def _field_path(body: Any, name: str, prefix: str = "") -> str | None:
    if not isinstance(body, dict):
        return None
    if name in body:
        return prefix + name
    for key, value in body.items():
        found = _field_path(value, name, f"{prefix}{key}.")
        if found:
            return found
    return None


def _schema_path(schema: Any, name: str, prefix: str = "", depth: int = 0) -> str | None:
    props = (schema or {}).get("properties") if isinstance(schema, dict) else None
    if not props or depth > 2:
        return None
    if name in props:
        return prefix + name
    for key, sub in props.items():
        found = _schema_path(sub, name, f"{prefix}{key}.", depth + 1)
        if found:
            return found
    return None


def suite_text(draft: Draft, outcomes: Iterable[ProbeOutcome], copies: int, title: str) -> str:
    scenarios = []
    for i, outcome in enumerate(outcomes):
        found = scenario_for(draft, outcome, i)
        if found is not None:
            scenarios.append(found)
    suite = {
        "name": _slug(f"{draft.name}-races"),
        "description": title,
        "params": {"copies": copies},
        "scenarios": scenarios,
    }
    header = (
        "# Editor schema: `soakmon schema suite`.\n"
        f"# {title}\n"
        f"# Run: soakmon run FILE --profile {PROFILE_FILE} --target URL\n"
    )
    return header + yaml.safe_dump(suite, sort_keys=False, allow_unicode=True, width=100)


def save_findings(
    folder: Path, doc: Document, source: str, outcomes: list[ProbeOutcome], copies: int
) -> list[Path]:
    """``DIR/probe-suite.yaml`` (a scenario per probe with findings) and its profile."""
    draft = build_draft(doc, source)
    found = [o for o in outcomes if o.findings]
    text = suite_text(
        draft, found, copies, f"Replays of the findings of `soakmon probe` ({len(found)})"
    )
    draft.text = render(draft, source, doc.version)  # with the refusal names the suite expects
    folder.mkdir(parents=True, exist_ok=True)
    suite_path, profile_path = folder / SUITE_FILE, folder / PROFILE_FILE
    suite_path.write_text(text.replace(PROFILE_FILE, str(profile_path)), encoding="utf-8")
    profile_path.write_text(draft.text, encoding="utf-8")
    return [suite_path, profile_path]
