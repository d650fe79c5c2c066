"""Connection modes: which aiohttp ``ClientSession`` a request goes through."""

from __future__ import annotations

import enum
import ssl
from abc import ABC, abstractmethod
from contextvars import ContextVar
from typing import TypeVar

import aiohttp
from aiohttp.client_reqrep import ClientRequest
from aiohttp.connector import Connection
from aiohttp.tracing import Trace

_Mode = TypeVar("_Mode", bound=enum.Enum)


def parse_mode(cls: type[_Mode], value: str | _Mode, what: str) -> _Mode:
    """A member of the mode enum ``cls`` or its value's name, forgiving case and ``_``/``-``
    (``"per_user"``, ``"LAST-BYTE"`` ...); ``ValueError`` naming ``what`` and the choices."""
    if isinstance(value, cls):
        return value
    wanted = str(value).strip().lower().replace("_", "-")
    for mode in cls:
        if mode.value == wanted:
            return mode
    choices = ", ".join(str(m.value) for m in cls)
    raise ValueError(f"unknown {what} {value!r} (choose one of: {choices})")


class ConnectionMode(enum.Enum):
    """How requests share connections."""

    PER_REQUEST = "per-request"
    """A fresh ClientSession (and TCP connection) per request: the spec's default."""
    PER_USER = "per-user"
    """One keep-alive ClientSession (with its own cookies) per virtual user."""
    SHARED = "shared"
    """One pooled keep-alive ClientSession for everything: the fast path."""

    @classmethod
    def parse(cls, value: str | ConnectionMode) -> ConnectionMode:
        """Accept a mode or its name (``"per-request"``, ``"per_user"``, ``"SHARED"``...)."""
        return parse_mode(cls, value, "connection mode")


CONNECTING: ContextVar[bool] = ContextVar("soakmon_connecting", default=False)
"""True while the request in flight in this task waits for its connection (a pool slot, TCP,
TLS). A timeout then is a connect timeout, the request certainly not sent, whichever of
aiohttp's timers fired: under CPU starvation the total timer (armed first) can fire before the
connect timer, so the timer alone does not tell the phase."""


class PhaseConnector(aiohttp.TCPConnector):
    """aiohttp's TCP connector that notes in :data:`CONNECTING` when a request is connecting."""

    async def connect(
        self,
        req: ClientRequest,
        traces: list[Trace],
        timeout: aiohttp.ClientTimeout,  # noqa: ASYNC109 (aiohttp's signature)
    ) -> Connection:
        CONNECTING.set(True)
        conn = await super().connect(req, traces, timeout)
        CONNECTING.set(False)
        return conn


class SessionPool(ABC):
    """Hands out sessions for virtual user ``user`` and takes them back."""

    def __init__(self, pool_limit: int = 0, ssl_context: ssl.SSLContext | None = None) -> None:
        self._pool_limit = pool_limit
        self._ssl = ssl_context

    @abstractmethod
    async def acquire(self, user: int) -> aiohttp.ClientSession:
        """A session for virtual user ``user`` (0-based)."""

    async def release(self, session: aiohttp.ClientSession) -> None:  # noqa: B027
        """Give the session back after one request (default: keep it)."""

    @abstractmethod
    async def aclose(self) -> None:
        """Close every session still open."""

    def _new(self, *, keep_alive: bool, cookies: bool) -> aiohttp.ClientSession:
        connector = PhaseConnector(
            limit=self._pool_limit,
            force_close=not keep_alive,
            timeout_ceil_threshold=1e9,
            ssl=self._ssl if self._ssl is not None else True,
        )
        jar: aiohttp.abc.AbstractCookieJar = (
            aiohttp.CookieJar(unsafe=True) if cookies else aiohttp.DummyCookieJar()
        )
        return aiohttp.ClientSession(connector=connector, cookie_jar=jar, raise_for_status=False)


class PerRequestPool(SessionPool):
    """A new session per request, closed right after it."""

    def __init__(self, pool_limit: int = 0, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(pool_limit, ssl_context)
        self._open: set[aiohttp.ClientSession] = set()

    async def acquire(self, user: int) -> aiohttp.ClientSession:
        session = self._new(keep_alive=False, cookies=False)
        self._open.add(session)
        return session

    async def release(self, session: aiohttp.ClientSession) -> None:
        self._open.discard(session)
        await session.close()

    async def aclose(self) -> None:
        sessions, self._open = self._open, set()
        for session in sessions:
            await session.close()


class PerUserPool(SessionPool):
    """One keep-alive session per virtual user, reused across calls."""

    def __init__(self, pool_limit: int = 0, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(pool_limit, ssl_context)
        self._sessions: dict[int, aiohttp.ClientSession] = {}

    async def acquire(self, user: int) -> aiohttp.ClientSession:
        session = self._sessions.get(user)
        if session is None or session.closed:
            session = self._sessions[user] = self._new(keep_alive=True, cookies=True)
        return session

    async def aclose(self) -> None:
        sessions, self._sessions = self._sessions, {}
        for session in sessions.values():
            await session.close()


class SharedPool(SessionPool):
    """One pooled keep-alive session (no cookie jar: users would share cookies)."""

    def __init__(self, pool_limit: int = 0, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(pool_limit, ssl_context)
        self._session: aiohttp.ClientSession | None = None

    async def acquire(self, user: int) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = self._new(keep_alive=True, cookies=False)
        return self._session

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


POOLS: dict[ConnectionMode, type[SessionPool]] = {
    ConnectionMode.PER_REQUEST: PerRequestPool,
    ConnectionMode.PER_USER: PerUserPool,
    ConnectionMode.SHARED: SharedPool,
}
"""Registry: connection mode -> session pool class."""
