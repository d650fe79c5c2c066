"""Warehouses: a second loopback stand-in of another shape, serving its own OpenAPI 3.1 document
(``/v1/openapi.json``): no envelopes, camelCase, accounts without a session (``POST
/v1/accounts``) and an API key from ``POST /v1/login`` (``X-Api-Key``; or bearer / cookie), tags
as rows keyed by (warehouse, tag).

``defects=True`` plants the same four kinds of race as ``clubs_server`` in other places, each a
read and a write in separate awaits on the database: a warehouse code checked then inserted
(500 on the raced UNIQUE), a tag checked then inserted (500 on the raced primary key), a tag
read then deleted (every concurrent delete answers 204), an update that writes the whole row
back (concurrent updates of different fields are lost). ``defects=False`` uses one statement
for each.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.openapi.standin import (
    AUTH,
    DEFECTS,
    IntegrityError,
    authed,
    db,
    error,
    error_schema,
    json_body,
    new_token,
    security_scheme,
    session_answer,
    standin_app,
)

SCHEMA = """
CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL, password TEXT NOT NULL);
CREATE TABLE warehouses (id INTEGER PRIMARY KEY, owner INTEGER NOT NULL, code TEXT UNIQUE NOT NULL,
                         city TEXT NOT NULL, manager TEXT NOT NULL DEFAULT '');
CREATE TABLE tags (warehouse_id INTEGER NOT NULL, tag TEXT NOT NULL,
                   PRIMARY KEY (warehouse_id, tag));
"""
TOKEN_FIELD = {"apikey": "apiKey", "bearer": "accessToken", "token": "token", "cookie": None}


async def _row(request: web.Request, wid: str, owner: int) -> Any:
    async with db(request).execute(
        "SELECT id, code, city, manager FROM warehouses WHERE id = ? AND owner = ?", (wid, owner)
    ) as cur:
        return await cur.fetchone()


async def _view(request: web.Request, row: Any) -> dict[str, Any]:
    async with db(request).execute(
        "SELECT COUNT(*) FROM tags WHERE warehouse_id = ?", (row[0],)
    ) as cur:
        count = (await cur.fetchone() or (0,))[0]
    return {"id": row[0], "code": row[1], "city": row[2], "manager": row[3], "tagCount": count}


async def create_account(request: web.Request) -> web.Response:
    body = await json_body(request)
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or "@" not in email or not isinstance(password, str):
        return error(400, "bad_request")
    try:
        cur = await db(request).execute(
            "INSERT INTO accounts (email, password) VALUES (?, ?)", (email, password)
        )
    except IntegrityError:
        return error(409, "email_taken")
    return web.json_response({"accountId": cur.lastrowid, "email": email}, status=201)


async def login(request: web.Request) -> web.Response:
    body = await json_body(request)
    conn = db(request)
    async with conn.execute(
        "SELECT id FROM accounts WHERE email = ? AND password = ?",
        (body.get("email"), body.get("password")),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return error(401, "bad_credentials")
    token = await new_token(conn, int(row[0]))
    field = TOKEN_FIELD[request.app[AUTH]]
    return session_answer(request, {field: token} if field else {"ok": True}, token, 200)


@authed
async def create_warehouse(request: web.Request, owner: int) -> web.Response:
    body = await json_body(request)
    code, city = body.get("code"), body.get("city")
    if not isinstance(code, str) or not isinstance(city, str) or not code:
        return error(400, "bad_request")
    conn = db(request)
    insert = "INSERT INTO warehouses (owner, code, city) VALUES (?, ?, ?)"
    if request.app[DEFECTS]:
        async with conn.execute("SELECT 1 FROM warehouses WHERE code = ?", (code,)) as cur:
            if await cur.fetchone():
                return error(409, "code_taken")
        cur = await conn.execute(insert, (owner, code, city))  # raced: IntegrityError, a 500
    else:
        try:
            cur = await conn.execute(insert, (owner, code, city))
        except IntegrityError:
            return error(409, "code_taken")
    row = await _row(request, str(cur.lastrowid), owner)
    return web.json_response(await _view(request, row), status=201)


@authed
async def get_warehouse(request: web.Request, owner: int) -> web.Response:
    row = await _row(request, request.match_info["wid"], owner)
    return (
        error(404, "no_such_warehouse")
        if row is None
        else web.json_response(await _view(request, row))
    )


@authed
async def update_warehouse(request: web.Request, owner: int) -> web.Response:
    body = await json_body(request)
    wid = request.match_info["wid"]
    fields = {k: body[k] for k in ("city", "manager") if isinstance(body.get(k), str)}
    row = await _row(request, wid, owner)
    if row is None:
        return error(404, "no_such_warehouse")
    conn = db(request)
    if request.app[DEFECTS]:  # read-modify-write of the whole row
        merged = {"city": row[2], "manager": row[3], **fields}
        await conn.execute(
            "UPDATE warehouses SET city = ?, manager = ? WHERE id = ?",
            (merged["city"], merged["manager"], wid),
        )
    elif fields:
        sets = ", ".join(f"{k} = ?" for k in fields)
        await conn.execute(f"UPDATE warehouses SET {sets} WHERE id = ?", (*fields.values(), wid))
    return web.json_response(await _view(request, await _row(request, wid, owner)))


@authed
async def add_tag(request: web.Request, owner: int) -> web.Response:
    tag = (await json_body(request)).get("tag")
    wid = request.match_info["wid"]
    if not isinstance(tag, str) or not tag:
        return error(400, "bad_request")
    if await _row(request, wid, owner) is None:
        return error(404, "no_such_warehouse")
    conn = db(request)
    if request.app[DEFECTS]:
        async with conn.execute(
            "SELECT 1 FROM tags WHERE warehouse_id = ? AND tag = ?", (wid, tag)
        ) as cur:
            if await cur.fetchone():
                return error(409, "already_tagged")
        await conn.execute("INSERT INTO tags VALUES (?, ?)", (wid, tag))  # raced: a 500
    else:
        try:
            await conn.execute("INSERT INTO tags VALUES (?, ?)", (wid, tag))
        except IntegrityError:
            return error(409, "already_tagged")
    return web.json_response({"warehouseId": int(wid), "tag": tag}, status=201)


@authed
async def list_tags(request: web.Request, owner: int) -> web.Response:
    async with db(request).execute(
        "SELECT tag FROM tags WHERE warehouse_id = ? ORDER BY tag", (request.match_info["wid"],)
    ) as cur:
        rows = await cur.fetchall()
    return web.json_response([{"tag": r[0]} for r in rows])


@authed
async def remove_tag(request: web.Request, owner: int) -> web.Response:
    wid, tag = request.match_info["wid"], request.match_info["tag"]
    conn = db(request)
    if request.app[DEFECTS]:
        async with conn.execute(
            "SELECT 1 FROM tags WHERE warehouse_id = ? AND tag = ?", (wid, tag)
        ) as cur:
            if not await cur.fetchone():
                return error(404, "no_such_tag")
        await conn.execute("DELETE FROM tags WHERE warehouse_id = ? AND tag = ?", (wid, tag))
    else:
        cur = await conn.execute("DELETE FROM tags WHERE warehouse_id = ? AND tag = ?", (wid, tag))
        if cur.rowcount == 0:
            return error(404, "no_such_tag")
    return web.Response(status=204)


def openapi(auth: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document."""
    err = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    wid = {"name": "warehouseId", "in": "path", "required": True, "schema": {"type": "integer"}}

    def json_of(schema: Any, description: str = "OK") -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": schema}}}

    def body(ref: str) -> dict[str, Any]:
        schema = {"$ref": f"#/components/schemas/{ref}"}
        return {"required": True, "content": {"application/json": {"schema": schema}}}

    def errors(*codes: int) -> dict[str, Any]:
        return {str(c): {"description": f"Problem {c}", **err} for c in codes}

    field = TOKEN_FIELD[auth]
    login_out = {"type": "object", "properties": {field: {"type": "string"}} if field else {}}
    warehouse = {"$ref": "#/components/schemas/Warehouse"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Stock keeper", "version": "2.3"},
        "servers": [{"url": "http://stock.example.internal/v1"}],
        "security": [{"key": []}],
        "paths": {
            "/accounts": {
                "post": {
                    "operationId": "createAccount",
                    "security": [],
                    "requestBody": body("Credentials"),
                    "responses": {
                        "201": json_of(
                            {
                                "type": "object",
                                "properties": {
                                    "accountId": {"type": "integer"},
                                    "email": {"type": "string"},
                                },
                            }
                        ),
                        **errors(400, 409),
                    },
                }
            },
            "/login": {
                "post": {
                    "operationId": "login",
                    "security": [],
                    "requestBody": body("Credentials"),
                    "responses": {"200": json_of(login_out), **errors(401)},
                }
            },
            "/warehouses": {
                "post": {
                    "operationId": "createWarehouse",
                    "requestBody": body("NewWarehouse"),
                    "responses": {"201": json_of(warehouse), **errors(400, 401, 409)},
                }
            },
            "/warehouses/{warehouseId}": {
                "parameters": [wid],
                "get": {
                    "operationId": "getWarehouse",
                    "responses": {"200": json_of(warehouse), **errors(401, 404)},
                },
                "patch": {
                    "operationId": "updateWarehouse",
                    "requestBody": body("WarehousePatch"),
                    "responses": {"200": json_of(warehouse), **errors(400, 401, 404)},
                },
            },
            "/warehouses/{warehouseId}/tags": {
                "parameters": [wid],
                "post": {
                    "operationId": "tagWarehouse",
                    "requestBody": body("Tag"),
                    "responses": {
                        "201": json_of(
                            {
                                "type": "object",
                                "properties": {
                                    "warehouseId": {"type": "integer"},
                                    "tag": {"type": "string"},
                                },
                            }
                        ),
                        **errors(400, 401, 404, 409),
                    },
                },
                "get": {
                    "operationId": "listTags",
                    "responses": {
                        "200": json_of(
                            {"type": "array", "items": {"$ref": "#/components/schemas/Tag"}}
                        )
                    },
                },
            },
            "/warehouses/{warehouseId}/tags/{tag}": {
                "parameters": [
                    wid,
                    {"name": "tag", "in": "path", "required": True, "schema": {"type": "string"}},
                ],
                "delete": {
                    "operationId": "untagWarehouse",
                    "responses": {"204": {"description": "Removed"}, **errors(401, 404)},
                },
            },
        },
        "components": {
            "securitySchemes": {"key": security_scheme(auth)},
            "schemas": {
                "Problem": error_schema(),
                "Credentials": {
                    "type": "object",
                    "required": ["email", "password"],
                    "properties": {
                        "email": {"type": "string", "format": "email"},
                        "password": {"type": "string", "minLength": 8},
                    },
                },
                "NewWarehouse": {
                    "type": "object",
                    "required": ["code", "city"],
                    "properties": {
                        "code": {"type": "string", "pattern": "^[A-Za-z0-9-]{3,32}$"},
                        "city": {"type": "string", "minLength": 1},
                    },
                },
                "WarehousePatch": {
                    "type": "object",
                    "properties": {
                        "city": {"type": "string", "minLength": 1},
                        "manager": {"type": "string"},
                    },
                },
                "Warehouse": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "code": {"type": "string"},
                        "city": {"type": "string"},
                        "manager": {"type": "string"},
                        "tagCount": {"type": "integer"},
                    },
                },
                "Tag": {
                    "type": "object",
                    "required": ["tag"],
                    "properties": {
                        "tag": {"type": "string", "pattern": "^[a-z0-9-]+$", "maxLength": 40}
                    },
                },
            },
        },
    }


async def make_app(*, defects: bool, auth: str = "apikey") -> web.Application:
    """The app, with its database open (closed on cleanup)."""
    app = await standin_app(SCHEMA, "/v1/openapi.json", openapi(auth), defects=defects, auth=auth)
    app.router.add_post("/v1/accounts", create_account)
    app.router.add_post("/v1/login", login)
    app.router.add_post("/v1/warehouses", create_warehouse)
    app.router.add_get("/v1/warehouses/{wid}", get_warehouse)
    app.router.add_patch("/v1/warehouses/{wid}", update_warehouse)
    app.router.add_post("/v1/warehouses/{wid}/tags", add_tag)
    app.router.add_get("/v1/warehouses/{wid}/tags", list_tags)
    app.router.add_delete("/v1/warehouses/{wid}/tags/{tag}", remove_tag)
    return app
