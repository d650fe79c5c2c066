"""Body fields that reference other resources are produced, not drawn: inferred from the field's
name (``task_ids`` ← ``POST /tasks``, ``to_user_id`` ← another registered user), from OpenAPI
``links`` and from ``x-produced-by``; ``init``'s starter suite creates them in its setup, and on
the reference target the referenced ids are real (with the balance the document cannot tell
given by one ``fund`` step, ``top3.set`` and ``points.transfer`` succeed)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from monitor.cli.app import _register, app
from monitor.openapi.document import load_document
from monitor.openapi.model import read_api
from monitor.openapi.refs import body_refs
from monitor.reference.api import ENDPOINTS
from monitor.reference.openapi import build_openapi

_register()


def refs_of(document: dict[str, Any], tmp_path: Path) -> dict[str, list[str]]:
    source = tmp_path / "doc.json"
    source.write_text(json.dumps(document))
    api = read_api(load_document(str(source)).resolved)
    register = next((o for o in api.operations if o.path.endswith("register")), None)
    return {o.label: [r.describe() for r in refs] for o in api.operations
            if (refs := body_refs(api, o, register))}  # fmt: skip


def test_reference_document_references_inferred_from_names(tmp_path: Path) -> None:
    assert refs_of(build_openapi(ENDPOINTS), tmp_path) == {
        "post_points_transfer": ["to_user_id ← another registered user's user_id"],
        "post_top3": ["task_ids ← post_tasks's id (×1)"],
    }


def test_links_and_x_produced_by(tmp_path: Path) -> None:
    obj = {"type": "object", "properties": {"ref": {"type": "string"}, "id": {"type": "string"}}}
    made = {"description": "made", "content": {"application/json": {"schema": obj}}}
    link = {"operationId": "placeOrder", "requestBody": {"basket": "$response.body#/ref"}}
    linked = {"201": {**made, "links": {"order": link}}}
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "shop", "version": "1"},
        "paths": {
            "/baskets": {"post": {"operationId": "newBasket", "responses": linked}},
            "/vouchers": {"post": {"operationId": "newVoucher", "responses": {"201": made}}},
            "/orders": {"post": {"operationId": "placeOrder", "requestBody": {"content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    "basket": {"type": "string"},
                    "code": {"type": "string", "x-produced-by": "newVoucher#ref"},
                    "request_id": {"type": "string"}}}}}},
                "responses": {"201": made}}},
        },
    }  # fmt: skip
    assert refs_of(doc, tmp_path) == {
        "placeOrder": ["basket ← newBasket's ref", "code ← newVoucher's ref"]
    }


async def test_starter_suite_creates_what_it_needs_on_the_reference_target(
    tmp_path: Path, reference_url: str
) -> None:
    """Every scenario of the starter suite drafted from the reference target's document passes
    against it, each having exercised its operation: the references are produced (a real task,
    a real second user) and the built-ins that spend get their balance or item first."""
    source = tmp_path / "openapi.json"
    source.write_text(json.dumps(build_openapi(ENDPOINTS)))
    out = tmp_path / "profile.yaml"
    result = CliRunner().invoke(app, ["init", "--openapi", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "GUESS: body field 'task_ids' references the id of what POST /tasks creates" in text
    suite_path = out.with_name("profile.suite.yaml")
    made = {s["name"]: s for s in yaml.safe_load(suite_path.read_text())["scenarios"]}
    top3, transfer = made["concurrent-top3-set"], made["concurrent-points-transfer"]
    assert top3["setup"][1] == {"op": "fund", "user": "alice", "args": {"amount": 1000}}
    assert (top3["setup"][2]["op"], top3["setup"][2]["save"]) == ("tasks.create", "ref0_0")
    assert top3["phases"][0]["ops"][0]["args"]["task_ids"] == ["${state.ref0_0.id}"]
    assert transfer["setup"][2] == {"op": "register", "save": "ref0_0"}
    assert transfer["phases"][0]["ops"][0]["args"]["to_user_id"] == "${state.ref0_0.user_id}"
    assert made["concurrent-rewards-redeem"]["setup"][1]["op"] == "stock"
    report = tmp_path / "r.json"
    args = ["run", str(suite_path), "--profile", str(out), "--target", reference_url,
            "--attempts", "1", "--json", str(report)]  # fmt: skip
    result = await asyncio.to_thread(CliRunner().invoke, app, args)
    assert result.exit_code == 0, result.output
    ran = json.loads(await asyncio.to_thread(report.read_text))["suites"][0]["scenarios"]
    assert len(ran) == 13
    assert all(s["status"] == "passed" for s in ran)
    exercised = [c for s in ran for c in s["checks"] if c["name"].startswith("some ")]
    assert len(exercised) == 13
