"""Notebooks: a third OpenAPI stand-in, shaped like Kinto — anonymous (no ``securitySchemes``),
lists in a ``{"data": [...]}`` envelope, and every record and notebook carrying an epoch-ms
``last_modified`` that each write bumps (strictly increasing, as Kinto's). Numeric fields that
change on every write but are no counters: ``probe`` must not judge them.

A notebook counts its notes (``noteCount``) and its labels (``labelCount``); a label is unique
per notebook (409 on a repeat). ``defects=True`` plants one counter race: a note insert reads
``noteCount`` and writes it back + 1 in separate awaits (concurrent notes lose increments: the
counter drifts from the rows it counts). ``defects=False`` increments in one statement. Both
variants keep ``labelCount`` right.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from aiohttp import web

from tests.openapi.standin import DEFECTS, IntegrityError, db, error, json_body, standin_app

SCHEMA = """
CREATE TABLE notebooks (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note_count INTEGER NOT NULL
                        DEFAULT 0, label_count INTEGER NOT NULL DEFAULT 0, last_modified INTEGER);
CREATE TABLE notes (id INTEGER PRIMARY KEY, notebook_id INTEGER NOT NULL, text TEXT NOT NULL,
                    last_modified INTEGER NOT NULL);
CREATE TABLE bookmarks (notebook_id INTEGER PRIMARY KEY, note TEXT NOT NULL);
CREATE TABLE labels (notebook_id INTEGER NOT NULL, label TEXT NOT NULL,
                     last_modified INTEGER NOT NULL, PRIMARY KEY (notebook_id, label));
"""
BASE = "/api/v2"


async def _touch(request: web.Request, nid: str | int) -> int:
    """Bump the notebook's ``last_modified`` (epoch ms, strictly increasing like Kinto's)."""
    now = time.time_ns() // 1_000_000
    cur = await db(request).execute(
        "UPDATE notebooks SET last_modified = MAX(COALESCE(last_modified, 0) + 1, ?) "
        "WHERE id = ? RETURNING last_modified",
        (now, nid),
    )
    row = await cur.fetchone()
    return int(row[0]) if row else now


async def _notebook(request: web.Request, nid: str | int) -> dict[str, Any] | None:
    async with db(request).execute(
        "SELECT id, name, note_count, label_count, last_modified FROM notebooks WHERE id = ?",
        (nid,),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    return {"id": row[0], "name": row[1], "noteCount": row[2], "labelCount": row[3],
            "last_modified": row[4]}  # fmt: skip


async def create_notebook(request: web.Request) -> web.Response:
    name = (await json_body(request)).get("name")
    if not isinstance(name, str) or not name:
        return error(400, "invalid_name")
    cur = await db(request).execute("INSERT INTO notebooks (name) VALUES (?)", (name,))
    await _touch(request, cur.lastrowid or 0)
    return web.json_response({"data": await _notebook(request, cur.lastrowid or 0)}, status=201)


async def get_notebook(request: web.Request) -> web.Response:
    found = await _notebook(request, request.match_info["nid"])
    return error(404, "missing") if found is None else web.json_response({"data": found})


async def add_note(request: web.Request) -> web.Response:
    text = (await json_body(request)).get("text")
    nid = request.match_info["nid"]
    if not isinstance(text, str) or not text:
        return error(400, "invalid_text")
    if await _notebook(request, nid) is None:
        return error(404, "missing")
    conn = db(request)
    count = 0
    if request.app[DEFECTS]:  # read the count, insert, write the count back + 1: lost increments
        async with conn.execute("SELECT note_count FROM notebooks WHERE id = ?", (nid,)) as c:
            count = (await c.fetchone() or (0,))[0]
    stamp = await _touch(request, nid)
    cur = await conn.execute(
        "INSERT INTO notes (notebook_id, text, last_modified) VALUES (?, ?, ?)", (nid, text, stamp)
    )
    if request.app[DEFECTS]:
        await conn.execute("UPDATE notebooks SET note_count = ? WHERE id = ?", (count + 1, nid))
    else:
        await conn.execute("UPDATE notebooks SET note_count = note_count + 1 WHERE id = ?", (nid,))
    note = {"id": cur.lastrowid, "text": text, "last_modified": stamp}
    return web.json_response({"data": note}, status=201)


async def list_notes(request: web.Request) -> web.Response:
    async with db(request).execute(
        "SELECT id, text, last_modified FROM notes WHERE notebook_id = ? ORDER BY id",
        (request.match_info["nid"],),
    ) as cur:
        rows = await cur.fetchall()
    return web.json_response({"data": [{"id": r[0], "text": r[1], "last_modified": r[2]}
                                       for r in rows]})  # fmt: skip


async def add_label(request: web.Request) -> web.Response:
    label = (await json_body(request)).get("label")
    nid = request.match_info["nid"]
    if not isinstance(label, str) or not label:
        return error(400, "invalid_label")
    if await _notebook(request, nid) is None:
        return error(404, "missing")
    conn = db(request)
    stamp = time.time_ns() // 1_000_000
    try:
        await conn.execute("INSERT INTO labels VALUES (?, ?, ?)", (nid, label, stamp))
    except IntegrityError:
        return error(409, "label_exists")
    await conn.execute("UPDATE notebooks SET label_count = label_count + 1 WHERE id = ?", (nid,))
    stamp = await _touch(request, nid)
    return web.json_response({"data": {"label": label, "last_modified": stamp}}, status=201)


async def list_labels(request: web.Request) -> web.Response:
    async with db(request).execute(
        "SELECT label, last_modified FROM labels WHERE notebook_id = ? ORDER BY label",
        (request.match_info["nid"],),
    ) as cur:
        rows = await cur.fetchall()
    return web.json_response({"data": [{"label": r[0], "last_modified": r[1]} for r in rows]})


async def bookmark(request: web.Request) -> web.Response:
    """``POST /bookmarks {notebookId, note}``: the referenced notebook must exist (404), one
    bookmark per notebook (409)."""
    body = await json_body(request)
    nid, note = body.get("notebookId"), body.get("note")
    if not isinstance(nid, int) or not isinstance(note, str):
        return error(400, "invalid_bookmark")
    if await _notebook(request, nid) is None:
        return error(404, "no_such_notebook")
    try:
        await db(request).execute("INSERT INTO bookmarks VALUES (?, ?)", (nid, note))
    except IntegrityError:
        return error(409, "already_bookmarked")
    return web.json_response({"data": {"notebookId": nid, "note": note}}, status=201)


def openapi() -> dict[str, Any]:
    """The OpenAPI 3.0 document (anonymous: no securitySchemes)."""
    nid = {"name": "notebookId", "in": "path", "required": True, "schema": {"type": "integer"}}

    def ref(name: str) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{name}"}

    def data(schema: Any, description: str = "OK") -> dict[str, Any]:
        wrapped = {"type": "object", "properties": {"data": schema}}
        return {"description": description, "content": {"application/json": {"schema": wrapped}}}

    def body(schema: Any) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": schema}}}

    def text(name: str) -> dict[str, Any]:
        string = {"type": "string", "minLength": 1, "maxLength": 60}
        return {"type": "object", "required": [name], "properties": {name: string}}

    stamp = {"type": "integer", "description": "epoch milliseconds of the last write"}
    problem = {"description": "error", "content": {"application/json": {"schema": ref("Error")}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Notebooks", "version": "2.0"},
        "servers": [{"url": BASE}],
        "paths": {
            "/notebooks": {
                "post": {
                    "operationId": "createNotebook",
                    "requestBody": body(text("name")),
                    "responses": {"201": data(ref("Notebook"), "Created"), "400": problem},
                }
            },
            "/notebooks/{notebookId}": {
                "parameters": [nid],
                "get": {
                    "operationId": "getNotebook",
                    "responses": {"200": data(ref("Notebook")), "404": problem},
                },
            },
            "/notebooks/{notebookId}/notes": {
                "parameters": [nid],
                "post": {
                    "operationId": "addNote",
                    "requestBody": body(text("text")),
                    "responses": {"201": data(ref("Note"), "Created"), "404": problem},
                },
                "get": {
                    "operationId": "listNotes",
                    "responses": {"200": data({"type": "array", "items": ref("Note")})},
                },
            },
            "/bookmarks": {
                "post": {
                    "operationId": "createBookmark",
                    "requestBody": body(
                        {
                            "type": "object",
                            "required": ["notebookId", "note"],
                            "properties": {
                                "notebookId": {"type": "integer", "minimum": 1},
                                "note": {"type": "string", "minLength": 1},
                            },
                        }
                    ),
                    "responses": {
                        "201": data(ref("Bookmark"), "Created"),
                        "404": problem,
                        "409": problem,
                    },
                },
            },
            "/notebooks/{notebookId}/labels": {
                "parameters": [nid],
                "post": {
                    "operationId": "addLabel",
                    "requestBody": body(text("label")),
                    "responses": {
                        "201": data(ref("Label"), "Created"),
                        "404": problem,
                        "409": problem,
                    },
                },
                "get": {
                    "operationId": "listLabels",
                    "responses": {"200": data({"type": "array", "items": ref("Label")})},
                },
            },
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
                },
                "Notebook": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "name": {"type": "string"},
                        "noteCount": {"type": "integer"},
                        "labelCount": {"type": "integer"},
                        "last_modified": stamp,
                    },
                },
                "Note": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "text": {"type": "string"},
                        "last_modified": stamp,
                    },
                },
                "Bookmark": {
                    "type": "object",
                    "properties": {"notebookId": {"type": "integer"}, "note": {"type": "string"}},
                },
                "Label": {
                    "type": "object",
                    "properties": {"label": {"type": "string"}, "last_modified": stamp},
                },
            },
        },
    }


async def make_app(*, defects: bool) -> web.Application:
    """The app, with its database open (closed on cleanup)."""
    app = await standin_app(SCHEMA, f"{BASE}/openapi.json", openapi(), defects=defects)
    app.router.add_post(f"{BASE}/notebooks", create_notebook)
    app.router.add_get(f"{BASE}/notebooks/{{nid}}", get_notebook)
    app.router.add_post(f"{BASE}/notebooks/{{nid}}/notes", add_note)
    app.router.add_get(f"{BASE}/notebooks/{{nid}}/notes", list_notes)
    app.router.add_post(f"{BASE}/notebooks/{{nid}}/labels", add_label)
    app.router.add_post(f"{BASE}/bookmarks", bookmark)
    app.router.add_get(f"{BASE}/notebooks/{{nid}}/labels", list_labels)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8012)
    parser.add_argument("--defects", action="store_true")
    args = parser.parse_args()

    async def serve() -> None:
        runner = web.AppRunner(await make_app(defects=args.defects))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", args.port).start()
        print(f"listening on http://127.0.0.1:{args.port}{BASE}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
