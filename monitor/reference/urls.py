"""Database URL normalisation (pure): user-facing URLs to SQLAlchemy async-driver URLs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from monitor.reference.errors import DatabaseConfigError

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "postgresql+psycopg": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
}


@dataclass(frozen=True)
class DbTarget:
    """A normalised database location."""

    url: URL
    """SQLAlchemy URL with an async driver."""
    needs_temp_file: bool
    """True for ``sqlite://`` (memory): the caller must substitute a temporary file."""

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()


def normalise_db_url(raw: str) -> DbTarget:
    """Parse ``sqlite:///path``, ``sqlite://`` or ``postgresql://…`` into an async-driver URL.

    Raises DatabaseConfigError naming the problem for anything else.
    """
    text = raw.strip()
    if not text:
        raise DatabaseConfigError("empty database URL")
    try:
        url = make_url(text)
    except ArgumentError as exc:
        raise DatabaseConfigError(f"cannot parse database URL {raw!r}: {exc}") from None
    driver = _ASYNC_DRIVERS.get(url.drivername)
    if driver is None:
        raise DatabaseConfigError(
            f"unsupported database URL scheme {url.drivername!r} in {raw!r}; "
            "use sqlite:///PATH or postgresql://USER@HOST:PORT/DB"
        )
    url = url.set(drivername=driver)
    if driver.startswith("sqlite"):
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file::memory:"):
            return DbTarget(url=url.set(database=""), needs_temp_file=True)
        return DbTarget(url=url, needs_temp_file=False)
    if not url.database:
        raise DatabaseConfigError(f"database URL {raw!r} names no database (…/DBNAME)")
    return DbTarget(url=url, needs_temp_file=False)


def sqlite_file_url(path: str) -> URL:
    """The async SQLite URL of a file path."""
    return URL.create("sqlite+aiosqlite", database=path)
