"""Database URL normalisation."""

from __future__ import annotations

import pytest

from monitor.reference.errors import DatabaseConfigError
from monitor.reference.urls import normalise_db_url


@pytest.mark.parametrize(
    ("raw", "driver", "database", "temp"),
    [
        ("sqlite:///tmp/x.db", "sqlite+aiosqlite", "tmp/x.db", False),
        ("sqlite:////abs/x.db", "sqlite+aiosqlite", "/abs/x.db", False),
        ("sqlite+aiosqlite:////abs/x.db", "sqlite+aiosqlite", "/abs/x.db", False),
        ("sqlite://", "sqlite+aiosqlite", "", True),
        ("sqlite:///:memory:", "sqlite+aiosqlite", "", True),
        ("postgresql://u@127.0.0.1:5432/db", "postgresql+asyncpg", "db", False),
        ("postgres://u:secret@h/db", "postgresql+asyncpg", "db", False),
        ("postgresql+psycopg2://u@h/db", "postgresql+asyncpg", "db", False),
        ("  postgresql+asyncpg://u@h:1/db  ", "postgresql+asyncpg", "db", False),
    ],
)
def test_urls_are_normalised_to_async_drivers(
    raw: str, driver: str, database: str, temp: bool
) -> None:
    target = normalise_db_url(raw)
    assert target.url.drivername == driver
    assert (target.url.database or "") == database
    assert target.needs_temp_file is temp


def test_credentials_and_host_survive() -> None:
    url = normalise_db_url("postgresql://app:s3cret@db.example:6543/points").url
    assert (url.username, url.password, url.host, url.port) == ("app", "s3cret", "db.example", 6543)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        ("mysql://u@h/db", "unsupported database URL scheme 'mysql'"),
        ("not a url", "cannot parse"),
        ("postgresql://u@h:5432", "names no database"),
    ],
)
def test_bad_urls_name_the_problem(raw: str, message: str) -> None:
    with pytest.raises(DatabaseConfigError, match=message):
        normalise_db_url(raw)
