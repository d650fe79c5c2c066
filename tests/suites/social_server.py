"""A loopback favorites/follows API in the style of RealWorld ("Conduit"), for the "your own
domain" example (``scenarios/examples/social.yaml`` with ``social-profile.yaml``).

Storage is a real SQLite database (through ``aiosqlite``) with the unique constraints such a
service has. ``defects=True`` gives it the four concurrency defects found in a real Conduit
backend on PostgreSQL; ``defects=False`` is the correct service:

- sign-up, follow and article creation check for an existing row, then (after the work a real
  service does in between: hashing a password, loading the profile) insert it. Under concurrent
  duplicates the insert hits the unique constraint and the unexpected ``IntegrityError`` becomes
  **HTTP 500**. The correct service inserts first and turns a conflict into its answer (422
  ``username``/``slug`` taken, or an idempotent 200 for follow).
- unfavorite checks that the favorite exists, then deletes it without looking at how many rows
  the delete removed: five concurrent unfavorites of one favorite all answer 200 — **phantom
  successes**. The correct service deletes and answers 409 ``not favorited`` when nothing was
  removed.

API (``Authorization: Token <token>``; errors ``{"errors": {field: [message]}}``):
``POST /api/users`` {user: {username}} -> 201 {user: {username, token}} | 422 username taken;
``GET /api/profiles/{u}`` -> {profile: {username, following, followersCount}};
``POST``/``DELETE /api/profiles/{u}/follow`` -> {profile};
``POST /api/articles`` {article: {title, body}} -> 201 {article} | 422 slug taken;
``GET /api/articles/{slug}`` -> {article: {slug, title, favorited, favoritesCount}};
``POST /api/articles/{slug}/favorite`` -> {article} | 409 already favorited;
``DELETE /api/articles/{slug}/favorite`` -> {article} | 409 not favorited.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
from aiohttp import web

from tests.engine.servers import serve_app

DB_KEY = web.AppKey("db", aiosqlite.Connection)
DEFECTS_KEY = web.AppKey("defects", bool)
#: The work a real handler does between its existence check and its insert (bcrypt, loading
#: the author's profile ...): a few milliseconds in which concurrent duplicates pass the check.
WORK_S = 0.005

SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, token TEXT NOT NULL);
CREATE TABLE follows (follower INTEGER NOT NULL, followee INTEGER NOT NULL,
                      UNIQUE (follower, followee));
CREATE TABLE articles (id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE, title TEXT NOT NULL,
                       body TEXT NOT NULL, author INTEGER NOT NULL);
CREATE TABLE favorites (user_id INTEGER NOT NULL, article INTEGER NOT NULL,
                        UNIQUE (user_id, article));
"""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _errors(status: int, field: str, message: str) -> web.Response:
    return web.json_response({"errors": {field: [message]}}, status=status)


@web.middleware
async def _server_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """An exception nobody expected is a 500 (as in any web framework)."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except sqlite3.IntegrityError as exc:
        return _errors(500, "body", f"duplicate key value violates unique constraint: {exc}")


async def _one(db: aiosqlite.Connection, sql: str, *args: Any) -> Any:
    async with db.execute(sql, args) as cur:
        return await cur.fetchone()


async def _viewer(request: web.Request) -> int | None:
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Token ").strip()
    row = await _one(request.app[DB_KEY], "SELECT id FROM users WHERE token = ?", token)
    return None if row is None else int(row[0])


async def _me(request: web.Request) -> int:
    viewer = await _viewer(request)
    if viewer is None:
        raise web.HTTPUnauthorized(
            text='{"errors": {"token": ["missing or bad"]}}', content_type="application/json"
        )
    return viewer


async def _body(request: web.Request, key: str) -> dict[str, Any]:
    data = await request.json()
    inner = data.get(key) if isinstance(data, dict) else None
    if not isinstance(inner, dict):
        raise web.HTTPUnprocessableEntity(
            text=f'{{"errors": {{"{key}": ["required"]}}}}', content_type="application/json"
        )
    return inner


async def signup(request: web.Request) -> web.Response:
    db, user = request.app[DB_KEY], await _body(request, "user")
    username, token = str(user.get("username", "")), secrets.token_hex(16)
    if request.app[DEFECTS_KEY]:
        if await _one(db, "SELECT 1 FROM users WHERE username = ?", username):
            return _errors(422, "username", "has already been taken")
        await asyncio.sleep(WORK_S)  # hashing the password
        await db.execute("INSERT INTO users (username, token) VALUES (?, ?)", (username, token))
    else:
        cur = await db.execute(
            "INSERT INTO users (username, token) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (username, token),
        )
        if cur.rowcount == 0:
            return _errors(422, "username", "has already been taken")
    return web.json_response({"user": {"username": username, "token": token}}, status=201)


async def _profile(db: aiosqlite.Connection, username: str, viewer: int | None) -> dict[str, Any]:
    row = await _one(db, "SELECT id FROM users WHERE username = ?", username)
    if row is None:
        raise web.HTTPNotFound(
            text='{"errors": {"profile": ["not found"]}}', content_type="application/json"
        )
    followers = await _one(db, "SELECT COUNT(*) FROM follows WHERE followee = ?", row[0])
    following = await _one(
        db, "SELECT 1 FROM follows WHERE follower = ? AND followee = ?", viewer, row[0]
    )
    return {
        "id": int(row[0]),
        "username": username,
        "following": following is not None,
        "followersCount": int(followers[0]),
    }


async def get_profile(request: web.Request) -> web.Response:
    db, viewer = request.app[DB_KEY], await _viewer(request)
    profile = await _profile(db, request.match_info["username"], viewer)
    return web.json_response({"profile": {k: v for k, v in profile.items() if k != "id"}})


async def follow(request: web.Request) -> web.Response:
    db, me = request.app[DB_KEY], await _me(request)
    target = await _profile(db, request.match_info["username"], me)
    if request.app[DEFECTS_KEY]:
        if not target["following"]:
            await asyncio.sleep(WORK_S)  # loading the followee's profile
            await db.execute(
                "INSERT INTO follows (follower, followee) VALUES (?, ?)", (me, target["id"])
            )
    else:
        await db.execute(
            "INSERT INTO follows (follower, followee) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (me, target["id"]),
        )
    return await get_profile(request)


async def unfollow(request: web.Request) -> web.Response:
    db, me = request.app[DB_KEY], await _me(request)
    target = await _profile(db, request.match_info["username"], me)
    await db.execute("DELETE FROM follows WHERE follower = ? AND followee = ?", (me, target["id"]))
    return await get_profile(request)


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


async def _article(db: aiosqlite.Connection, slug: str, viewer: int | None) -> dict[str, Any]:
    row = await _one(db, "SELECT id, slug, title, body FROM articles WHERE slug = ?", slug)
    if row is None:
        raise web.HTTPNotFound(
            text='{"errors": {"article": ["not found"]}}', content_type="application/json"
        )
    count = await _one(db, "SELECT COUNT(*) FROM favorites WHERE article = ?", row[0])
    mine = await _one(
        db, "SELECT 1 FROM favorites WHERE article = ? AND user_id = ?", row[0], viewer
    )
    return {
        "id": int(row[0]),
        "slug": row[1],
        "title": row[2],
        "body": row[3],
        "favorited": mine is not None,
        "favoritesCount": int(count[0]),
    }


def _article_json(article: dict[str, Any], status: int = 200) -> web.Response:
    shown = {k: v for k, v in article.items() if k != "id"}
    return web.json_response({"article": shown}, status=status)


async def create_article(request: web.Request) -> web.Response:
    db, me = request.app[DB_KEY], await _me(request)
    article = await _body(request, "article")
    title = str(article.get("title", ""))
    slug, body = _slug(title), str(article.get("body", ""))
    insert = "INSERT INTO articles (slug, title, body, author) VALUES (?, ?, ?, ?)"
    if request.app[DEFECTS_KEY]:
        if await _one(db, "SELECT 1 FROM articles WHERE slug = ?", slug):
            return _errors(422, "slug", "has already been taken")
        await asyncio.sleep(WORK_S)  # rendering the body, loading the author
        await db.execute(insert, (slug, title, body, me))
    else:
        cur = await db.execute(insert + " ON CONFLICT DO NOTHING", (slug, title, body, me))
        if cur.rowcount == 0:
            return _errors(422, "slug", "has already been taken")
    return _article_json(await _article(db, slug, me), status=201)


async def get_article(request: web.Request) -> web.Response:
    db, viewer = request.app[DB_KEY], await _viewer(request)
    return _article_json(await _article(db, request.match_info["slug"], viewer))


async def favorite(request: web.Request) -> web.Response:
    db, me = request.app[DB_KEY], await _me(request)
    article = await _article(db, request.match_info["slug"], me)
    cur = await db.execute(
        "INSERT INTO favorites (user_id, article) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (me, article["id"]),
    )
    if cur.rowcount == 0:
        return _errors(409, "article", "already favorited")
    return _article_json(await _article(db, article["slug"], me))


async def unfavorite(request: web.Request) -> web.Response:
    db, me = request.app[DB_KEY], await _me(request)
    article = await _article(db, request.match_info["slug"], me)
    delete = "DELETE FROM favorites WHERE user_id = ? AND article = ?"
    if request.app[DEFECTS_KEY]:
        if not article["favorited"]:
            return _errors(409, "article", "not favorited")
        await asyncio.sleep(WORK_S)  # updating the article's counters
        await db.execute(delete, (me, article["id"]))  # rows removed: not looked at
    else:
        cur = await db.execute(delete, (me, article["id"]))
        if cur.rowcount == 0:
            return _errors(409, "article", "not favorited")
    return _article_json(await _article(db, article["slug"], me))


async def root(request: web.Request) -> web.Response:
    del request
    return web.json_response({"service": "social stand-in"})


def make_app(*, defects: bool) -> web.Application:
    app = web.Application(middlewares=[_server_errors])
    app[DEFECTS_KEY] = defects

    async def database(app: web.Application) -> AsyncIterator[None]:
        db = await aiosqlite.connect(":memory:", isolation_level=None)
        await db.executescript(SCHEMA)
        app[DB_KEY] = db
        yield
        await db.close()

    app.cleanup_ctx.append(database)
    app.router.add_get("/", root)
    app.router.add_post("/api/users", signup)
    app.router.add_get("/api/profiles/{username}", get_profile)
    app.router.add_post("/api/profiles/{username}/follow", follow)
    app.router.add_delete("/api/profiles/{username}/follow", unfollow)
    app.router.add_post("/api/articles", create_article)
    app.router.add_get("/api/articles/{slug}", get_article)
    app.router.add_post("/api/articles/{slug}/favorite", favorite)
    app.router.add_delete("/api/articles/{slug}/favorite", unfavorite)
    return app


@asynccontextmanager
async def social_server(*, defects: bool) -> AsyncIterator[str]:
    """Serve the stand-in on a free loopback port; yields its base URL."""
    async with serve_app(make_app(defects=defects)) as url:
        yield url


def main() -> None:
    """``python -m tests.suites.social_server [--defects] [--port N]``: serve until Ctrl-C."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--defects", action="store_true", help="the four concurrency defects")
    parser.add_argument("--port", type=int, default=8010)
    opts = parser.parse_args()
    web.run_app(make_app(defects=opts.defects), host="127.0.0.1", port=opts.port)


if __name__ == "__main__":
    main()
