"""The fast loop's answers other than a counted success: redirects and records.

A redirect's chain goes on through aiohttp (as :class:`~monitor.engine.fastusers.FastUsers`
does); any answer or failure that is not a success nobody keeps a record of becomes an
ordinary ``RequestRecord`` (:func:`record_answer`). The usual answer of ``soakmon load``
never comes here (:meth:`~monitor.engine.fastvu.LoopUser.complete`).
"""

from __future__ import annotations

import time
from time import monotonic
from typing import TYPE_CHECKING

from monitor.engine.backoff import connection_failed
from monitor.engine.fastfollow import REDIRECTS, follow, location
from monitor.engine.fastpath import FastError

if TYPE_CHECKING:
    from monitor.engine.fastvu import LoopUser


def redirected(user: LoopUser) -> bool:
    """A redirect answer: the chain's rest goes through aiohttp (like
    :meth:`FastUsers._after`); False when the answer stands."""
    conn = user.conn
    assert conn is not None
    status = conn._parser.get_status_code()
    if status < 300 or status not in REDIRECTS:
        return False
    target = location(conn.head())
    if target is None:
        return False
    if conn._abort_later:
        conn._abort()
    user.owner.users.redirects += 1
    user.connecting = user.loop.create_task(follow_redirect(user, status, target))
    return True


async def follow_redirect(user: LoopUser, status: int, target: str) -> None:
    """Follow a redirect (``status`` to ``target``) through aiohttp, record the chain's end
    and go on."""
    owner = user.owner
    req = user.requests[user.index]
    session = await owner.client.sessions.acquire(user.vu)
    headers = {**(req.headers or {}), **(user.sent_headers or {})}  # the first hop's
    hop = await follow(
        owner.client, session, req, status=status, target=target, headers=headers,
        remaining_s=req.timeout_s - (monotonic() - user.start),
    )  # fmt: skip
    user.connecting = None
    finished = user.finished
    if finished is None or finished.done():
        return
    try:
        done = owner.client.make_record(
            req, user.started_at or time.time(), user.start, user.intended, hop.status,
            hop.nbytes, hop.body, hop.headers, hop.error, hop.kind, hop.sent,
            user.sent_headers,
        )  # fmt: skip
        user.host._current.add(done)
        user.go_on(finished)
    except Exception as bug:
        user.broken(finished, bug)


def record_answer(user: LoopUser, exc: FastError | None) -> None:
    """Record the current request's answer (``exc`` None) or failure into the bucket: a
    count and a latency when nobody keeps records and it succeeded, else a record."""
    end = monotonic()
    owner, conn = user.owner, user.conn
    intended = user.intended
    bucket = user.host._current
    if exc is None and conn is not None:
        if conn._abort_later:  # the server asked to close after this answer
            conn._abort()
        if user.counting:
            status = conn._parser.get_status_code()
            if status < 400:
                codes = bucket.status_codes
                codes[status] = codes.get(status, 0) + 1
                bucket.success_count += 1
                bucket.histogram.seconds.append(
                    end - (user.start if intended is None else intended)
                )
                return
        status, nbytes, body, headers = conn.answer()
        done = owner.client.make_record(
            user.requests[user.index], user.started_at or time.time(), user.start,
            intended, status, nbytes, body, headers, None, None, True, user.sent_headers,
            end,
        )  # fmt: skip
    else:
        error = exc or FastError("reset", "server disconnected", True)
        if connection_failed(error.kind, error.sent):
            user.failed = True
        done = owner.client.make_record(
            user.requests[user.index], user.started_at or time.time(), user.start,
            intended, None, 0, None, None, error.message, error.kind, error.sent,
            user.sent_headers, end,
        )  # fmt: skip
    bucket.add(done)
