"""Book clubs: a loopback stand-in serving its own OpenAPI 3.0 document (``/api/openapi.json``).

Users sign up (``POST /api/users``, the token in the answer unless the session is a cookie) and
log in (``POST /api/users/login``); clubs have a unique name, a description and a member count;
members join and leave (``PUT``/``DELETE /api/clubs/{clubId}/membership``).

``defects=True`` plants the four kinds of race found in real backends, each a read and a write
in separate awaits on the database:

- creating a club checks the name is free, then inserts: identical concurrent creates hit the
  UNIQUE constraint and answer 500;
- joining checks the membership, then inserts: identical concurrent joins hit the primary key
  and answer 500;
- deleting a club reads it, then deletes it: every concurrent delete answers 204;
- renaming reads the whole row, then writes every column back: concurrent updates of different
  fields lose one another.

``defects=False`` does each in one statement (constraint violations answer 409, deletes count
the rows they removed, updates write only the fields given).
"""

from __future__ import annotations

import argparse
import asyncio
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
CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT UNIQUE NOT NULL, password TEXT NOT NULL);
CREATE TABLE clubs (id INTEGER PRIMARY KEY, owner_id INTEGER NOT NULL, name TEXT UNIQUE NOT NULL,
                    description TEXT NOT NULL DEFAULT '', members_count INTEGER NOT NULL DEFAULT 0);
CREATE TABLE members (club_id INTEGER NOT NULL, user_id INTEGER NOT NULL,
                      PRIMARY KEY (club_id, user_id));
"""


def _club(row: Any) -> dict[str, Any]:
    return {"id": row[0], "name": row[2], "description": row[3], "membersCount": row[4]}


async def _get_club(request: web.Request, club_id: str) -> Any:
    async with db(request).execute("SELECT * FROM clubs WHERE id = ?", (club_id,)) as cur:
        return await cur.fetchone()


async def signup(request: web.Request) -> web.Response:
    body = (await json_body(request)).get("user") or {}
    name, password = body.get("username"), body.get("password")
    if not isinstance(name, str) or not isinstance(password, str) or not name:
        return error(422, "invalid_request")
    conn = db(request)
    try:
        cur = await conn.execute(
            "INSERT INTO users (username, password) VALUES (?, ?)", (name, password)
        )
    except IntegrityError:
        return error(409, "username_taken")
    user: dict[str, Any] = {"id": cur.lastrowid, "username": name}
    if request.app[AUTH] == "cookie":
        return web.json_response({"user": user}, status=201)
    user["token"] = await new_token(conn, int(cur.lastrowid or 0))
    return web.json_response({"user": user}, status=201)


async def login(request: web.Request) -> web.Response:
    body = (await json_body(request)).get("user") or {}
    conn = db(request)
    async with conn.execute(
        "SELECT id, username FROM users WHERE username = ? AND password = ?",
        (body.get("username"), body.get("password")),
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return error(401, "unauthorized")
    token = await new_token(conn, int(row[0]))
    user: dict[str, Any] = {"id": row[0], "username": row[1]}
    if request.app[AUTH] != "cookie":
        user["token"] = token
    return session_answer(request, {"user": user}, token, 200)


@authed
async def create_club(request: web.Request, user: int) -> web.Response:
    body = await json_body(request)
    name, description = body.get("name"), body.get("description", "")
    if not isinstance(name, str) or not name or not isinstance(description, str):
        return error(422, "invalid_request")
    conn = db(request)
    if request.app[DEFECTS]:
        async with conn.execute("SELECT 1 FROM clubs WHERE name = ?", (name,)) as cur:
            taken = await cur.fetchone()
        if taken:
            return error(409, "name_taken")
        cur = await conn.execute(  # a raced duplicate raises IntegrityError: an unhandled 500
            "INSERT INTO clubs (owner_id, name, description) VALUES (?, ?, ?)",
            (user, name, description),
        )
    else:
        try:
            cur = await conn.execute(
                "INSERT INTO clubs (owner_id, name, description) VALUES (?, ?, ?)",
                (user, name, description),
            )
        except IntegrityError:
            return error(409, "name_taken")
    row = await _get_club(request, str(cur.lastrowid))
    return web.json_response({"club": _club(row)}, status=201)


@authed
async def list_clubs(request: web.Request, user: int) -> web.Response:
    async with db(request).execute(
        "SELECT * FROM clubs WHERE owner_id = ? ORDER BY id", (user,)
    ) as cur:
        rows = await cur.fetchall()
    return web.json_response({"clubs": [_club(r) for r in rows]})


@authed
async def get_club(request: web.Request, user: int) -> web.Response:
    row = await _get_club(request, request.match_info["club_id"])
    return error(404, "not_found") if row is None else web.json_response({"club": _club(row)})


@authed
async def update_club(request: web.Request, user: int) -> web.Response:
    body = await json_body(request)
    club_id = request.match_info["club_id"]
    fields = {k: body[k] for k in ("name", "description") if isinstance(body.get(k), str)}
    conn = db(request)
    row = await _get_club(request, club_id)
    if row is None or row[1] != user:
        return error(404, "not_found")
    try:
        if request.app[DEFECTS]:  # write the whole row back: a concurrent update is lost
            merged = {"name": row[2], "description": row[3], **fields}
            await conn.execute(
                "UPDATE clubs SET name = ?, description = ? WHERE id = ?",
                (merged["name"], merged["description"], club_id),
            )
        elif fields:
            sets = ", ".join(f"{k} = ?" for k in fields)
            await conn.execute(f"UPDATE clubs SET {sets} WHERE id = ?", (*fields.values(), club_id))
    except IntegrityError:
        return error(409, "name_taken")
    row = await _get_club(request, club_id)
    return web.json_response({"club": _club(row)})


@authed
async def delete_club(request: web.Request, user: int) -> web.Response:
    club_id = request.match_info["club_id"]
    conn = db(request)
    if request.app[DEFECTS]:
        row = await _get_club(request, club_id)
        if row is None or row[1] != user:
            return error(404, "not_found")
        await conn.execute("DELETE FROM clubs WHERE id = ?", (club_id,))
    else:
        cur = await conn.execute("DELETE FROM clubs WHERE id = ? AND owner_id = ?", (club_id, user))
        if cur.rowcount == 0:
            return error(404, "not_found")
    await conn.execute("DELETE FROM members WHERE club_id = ?", (club_id,))
    return web.Response(status=204)


@authed
async def join(request: web.Request, user: int) -> web.Response:
    club_id = request.match_info["club_id"]
    conn = db(request)
    if await _get_club(request, club_id) is None:
        return error(404, "not_found")
    if request.app[DEFECTS]:
        async with conn.execute(
            "SELECT 1 FROM members WHERE club_id = ? AND user_id = ?", (club_id, user)
        ) as cur:
            member = await cur.fetchone()
        if not member:  # a raced duplicate violates the primary key: an unhandled 500
            await conn.execute("INSERT INTO members VALUES (?, ?)", (club_id, user))
            await conn.execute(
                "UPDATE clubs SET members_count = members_count + 1 WHERE id = ?", (club_id,)
            )
    else:
        cur = await conn.execute("INSERT OR IGNORE INTO members VALUES (?, ?)", (club_id, user))
        if cur.rowcount:
            await conn.execute(
                "UPDATE clubs SET members_count = members_count + 1 WHERE id = ?", (club_id,)
            )
    row = await _get_club(request, club_id)
    return web.json_response({"club": _club(row)})


@authed
async def leave(request: web.Request, user: int) -> web.Response:
    club_id = request.match_info["club_id"]
    conn = db(request)
    cur = await conn.execute(
        "DELETE FROM members WHERE club_id = ? AND user_id = ?", (club_id, user)
    )
    if cur.rowcount == 0:
        return error(404, "not_member")
    await conn.execute(
        "UPDATE clubs SET members_count = members_count - 1 WHERE id = ?", (club_id,)
    )
    return web.Response(status=204)


@authed
async def members(request: web.Request, user: int) -> web.Response:
    async with db(request).execute(
        "SELECT m.user_id, u.username FROM members m JOIN users u ON u.id = m.user_id "
        "WHERE m.club_id = ? ORDER BY m.user_id",
        (request.match_info["club_id"],),
    ) as cur:
        rows = await cur.fetchall()
    return web.json_response({"members": [{"userId": r[0], "username": r[1]} for r in rows]})


def openapi(auth: str) -> dict[str, Any]:
    """The OpenAPI 3.0 document (components with $ref, like most generators write)."""
    ref = {"$ref": "#/components/schemas/ClubAnswer"}
    err = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    club_id = {"name": "clubId", "in": "path", "required": True, "schema": {"type": "integer"}}
    user_in = {
        "type": "object",
        "required": ["user"],
        "properties": {
            "user": {
                "type": "object",
                "required": ["username", "password"],
                "properties": {
                    "username": {"type": "string", "minLength": 1},
                    "password": {"type": "string", "minLength": 8},
                },
            }
        },
    }
    user_out: dict[str, Any] = {
        "type": "object",
        "properties": {
            "user": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "username": {"type": "string"},
                    **({} if auth == "cookie" else {"token": {"type": "string"}}),
                },
            }
        },
    }

    def answer(schema: Any, description: str = "OK") -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": schema}}}

    def errors(*codes: int) -> dict[str, Any]:
        return {str(c): {"description": f"error {c}", **err} for c in codes}

    login_answer = answer(user_out, "Logged in")
    if auth == "cookie":
        login_answer["headers"] = {"Set-Cookie": {"schema": {"type": "string"}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Book clubs", "version": "1.0"},
        "servers": [{"url": "/api"}],
        "security": [{"session": []}],
        "paths": {
            "/users": {
                "post": {
                    "operationId": "signUp",
                    "tags": ["users"],
                    "security": [],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": user_in}},
                    },
                    "responses": {"201": answer(user_out, "Signed up"), **errors(409, 422)},
                }
            },
            "/users/login": {
                "post": {
                    "operationId": "logIn",
                    "tags": ["users"],
                    "security": [],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": user_in}},
                    },
                    "responses": {"200": login_answer, **errors(401)},
                }
            },
            "/clubs": {
                "post": {
                    "operationId": "createClub",
                    "tags": ["clubs"],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/NewClub"}}
                        },
                    },
                    "responses": {"201": answer(ref, "Created"), **errors(401, 409, 422)},
                },
                "get": {
                    "operationId": "listClubs",
                    "tags": ["clubs"],
                    "responses": {
                        "200": answer(
                            {
                                "type": "object",
                                "properties": {
                                    "clubs": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Club"},
                                    }
                                },
                            }
                        ),
                        **errors(401),
                    },
                },
            },
            "/clubs/{clubId}": {
                "parameters": [club_id],
                "get": {
                    "operationId": "getClub",
                    "tags": ["clubs"],
                    "responses": {"200": answer(ref), **errors(401, 404)},
                },
                "patch": {
                    "operationId": "updateClub",
                    "tags": ["clubs"],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ClubPatch"}
                            }
                        },
                    },
                    "responses": {"200": answer(ref), **errors(401, 404, 409, 422)},
                },
                "delete": {
                    "operationId": "deleteClub",
                    "tags": ["clubs"],
                    "responses": {"204": {"description": "Deleted"}, **errors(401, 404)},
                },
            },
            "/clubs/{clubId}/membership": {
                "parameters": [club_id],
                "put": {
                    "operationId": "joinClub",
                    "tags": ["members"],
                    "responses": {"200": answer(ref, "Joined"), **errors(401, 404)},
                },
                "delete": {
                    "operationId": "leaveClub",
                    "tags": ["members"],
                    "responses": {"204": {"description": "Left"}, **errors(401, 404)},
                },
            },
            "/clubs/{clubId}/members": {
                "parameters": [club_id],
                "get": {
                    "operationId": "listMembers",
                    "tags": ["members"],
                    "responses": {
                        "200": answer(
                            {
                                "type": "object",
                                "properties": {
                                    "members": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "properties": {
                                                "userId": {"type": "integer"},
                                                "username": {"type": "string"},
                                            },
                                        },
                                    }
                                },
                            }
                        ),
                        **errors(401),
                    },
                },
            },
        },
        "components": {
            "securitySchemes": {"session": security_scheme(auth)},
            "schemas": {
                "Error": error_schema(),
                "NewClub": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": 60},
                        "description": {"type": "string", "maxLength": 500},
                    },
                },
                "ClubPatch": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": 60},
                        "description": {"type": "string", "maxLength": 500},
                    },
                },
                "Club": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer", "readOnly": True},
                        "name": {"type": "string"},
                        "description": {"type": "string"},
                        "membersCount": {"type": "integer"},
                    },
                },
                "ClubAnswer": {
                    "type": "object",
                    "properties": {"club": {"$ref": "#/components/schemas/Club"}},
                },
            },
        },
    }


async def make_app(*, defects: bool, auth: str = "token") -> web.Application:
    """The app, with its database open (closed on cleanup)."""
    app = await standin_app(SCHEMA, "/api/openapi.json", openapi(auth), defects=defects, auth=auth)
    app.router.add_post("/api/users", signup)
    app.router.add_post("/api/users/login", login)
    app.router.add_post("/api/clubs", create_club)
    app.router.add_get("/api/clubs", list_clubs)
    app.router.add_get("/api/clubs/{club_id}", get_club)
    app.router.add_patch("/api/clubs/{club_id}", update_club)
    app.router.add_delete("/api/clubs/{club_id}", delete_club)
    app.router.add_put("/api/clubs/{club_id}/membership", join)
    app.router.add_delete("/api/clubs/{club_id}/membership", leave)
    app.router.add_get("/api/clubs/{club_id}/members", members)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8010)
    parser.add_argument("--defects", action="store_true")
    parser.add_argument("--auth", choices=("bearer", "token", "apikey", "cookie"), default="token")
    args = parser.parse_args()

    async def serve() -> None:
        app = await make_app(defects=args.defects, auth=args.auth)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", args.port).start()
        print(f"listening on http://127.0.0.1:{args.port}/api", flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
