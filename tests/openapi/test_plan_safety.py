"""Probe planning is safe by default: a bulk DELETE of a collection (Kinto's ``DELETE
/buckets``, which removed a bucket the probe never created when it was probed) is left out;
a DELETE of a relationship the probe creates on the same path is still probed."""

from __future__ import annotations

import json
from pathlib import Path

from monitor.openapi.session_run import prepare

ITEM = {"type": "object", "properties": {"id": {"type": "string"}}}


def _op(op_id: str, status: str = "200", body: bool = False) -> dict[str, object]:
    out: dict[str, object] = {
        "operationId": op_id,
        "responses": {
            status: {"description": "ok", "content": {"application/json": {"schema": ITEM}}}
        },
    }
    if body:
        out["requestBody"] = {"content": {"application/json": {"schema": ITEM}}}
    return out


SLUG = [{"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}]
ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]

DOCUMENT = {
    "openapi": "3.0.3",
    "info": {"title": "bulk", "version": "1"},
    "paths": {
        "/buckets": {
            "post": _op("create_bucket", "201", body=True),
            "delete": _op("delete_buckets"),
        },
        "/buckets/{id}": {
            "parameters": ID,
            "get": _op("get_bucket"),
            "delete": _op("delete_bucket"),
        },
        "/articles": {"post": _op("create_article", "201", body=True)},
        "/articles/{slug}/favorite": {
            "parameters": SLUG,
            "post": _op("favorite"),
            "delete": _op("unfavorite"),
        },
    },
}


def test_bulk_delete_is_left_out_and_relationship_delete_kept(tmp_path: Path) -> None:
    source = tmp_path / "openapi.json"
    source.write_text(json.dumps(DOCUMENT))
    probes = {p.name: p for p in prepare(str(source), "http://127.0.0.1:9").probes}
    bulk = probes["delete_buckets"]
    assert "bulk delete" in (bulk.skip or "")
    assert probes["delete_bucket"].skip is None  # the probe's own bucket, by its id
    assert probes["unfavorite"].skip is None  # the relationship the probe's POST creates
