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


async def test_starter_suite_creates_the_references_on_the_reference_target(
    tmp_path: Path, reference_url: str
) -> None:
    source = tmp_path / "openapi.json"
    source.write_text(json.dumps(build_openapi(ENDPOINTS)))
    out = tmp_path / "profile.yaml"
    result = CliRunner().invoke(app, ["init", "--openapi", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "GUESS: body field 'task_ids' references the id of what POST /tasks creates" in text
    suite = yaml.safe_load(out.with_name("profile.suite.yaml").read_text())
    wanted = {"concurrent-top3-set", "concurrent-points-transfer"}
    suite["scenarios"] = [s for s in suite["scenarios"] if s["name"] in wanted]
    for scenario in suite["scenarios"]:  # the balance: what no document tells
        scenario["setup"].insert(1, {"op": "fund", "user": "alice", "args": {"amount": 2000}})
    made = {s["name"]: s for s in suite["scenarios"]}
    top3, transfer = made["concurrent-top3-set"], made["concurrent-points-transfer"]
    assert (top3["setup"][2]["op"], top3["setup"][2]["save"]) == ("tasks.create", "ref0_0")
    assert top3["phases"][0]["ops"][0]["args"]["task_ids"] == ["${state.ref0_0.id}"]
    assert transfer["setup"][2] == {"op": "register", "save": "ref0_0"}
    assert transfer["phases"][0]["ops"][0]["args"]["to_user_id"] == "${state.ref0_0.user_id}"
    path = tmp_path / "funded.yaml"
    path.write_text(yaml.safe_dump(suite))
    args = ["run", str(path), "--profile", str(out), "--target", reference_url, "--attempts", "1",
            "--json", str(tmp_path / "r.json")]  # fmt: skip
    result = await asyncio.to_thread(CliRunner().invoke, app, args)
    assert result.exit_code == 0, result.output  # each exercised: real task ids, a real user
