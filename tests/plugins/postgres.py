"""A real, private PostgreSQL for the tests (no mocks, no shared server).

``postgres_server`` (session) starts one cluster per test session, or uses
``$SOAKMON_TEST_POSTGRES_URL`` when set (e.g. a CI service container). ``postgres_url``
(function) hands each test a fresh database that is dropped afterwards.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

ENV_URL = "SOAKMON_TEST_POSTGRES_URL"
_START_ATTEMPTS = 3
_READY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class PostgresServer:
    """Where the test PostgreSQL listens; ``admin_db`` is the one to connect to for DDL."""

    user: str
    host: str
    port: int
    admin_db: str = "postgres"
    password: str | None = None

    def url(self, database: str) -> str:
        """``postgresql://user[:pw]@host:port/database`` (the form the reference target takes)."""
        auth = self.user if self.password is None else f"{self.user}:{self.password}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{database}"

    @property
    def admin_url(self) -> str:
        return self.url(self.admin_db)


def server_from_url(url: str) -> PostgresServer:
    parts = urlsplit(url)
    if parts.scheme not in {"postgresql", "postgres"} or not parts.hostname:
        raise ValueError(f"{ENV_URL} must look like postgresql://user@host:port/db, got {url!r}")
    return PostgresServer(
        user=parts.username or "postgres",
        host=parts.hostname,
        port=parts.port or 5432,
        admin_db=parts.path.lstrip("/") or "postgres",
        password=parts.password,
    )


def find_bindir() -> Path | None:
    """Newest ``/usr/lib/postgresql/*/bin`` holding ``initdb``, else the one on ``PATH``."""
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    candidates.sort(key=lambda p: int(Path(p).parent.parent.name or 0))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrivateCluster:
    """``initdb`` + ``pg_ctl`` in a temp dir, run as user ``postgres`` when we are root."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="soakmon-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = 0
        self._as_root = os.geteuid() == 0
        if self._as_root:
            shutil.chown(self.root, user="postgres", group="postgres")

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> PostgresServer:
        init = self._run(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
            "--no-sync", "--no-instructions", check=False,
        )  # fmt: skip
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed: {init.stderr.strip()}")
        for _ in range(_START_ATTEMPTS):
            self.port = free_port()
            opts = " ".join(
                [
                    f"-p {self.port}",
                    f"-k {self.root}",
                    "-c listen_addresses=127.0.0.1",
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                    "-c max_connections=200",
                    "-c shared_buffers=32MB",
                    "-c deadlock_timeout=200ms",
                ]
            )
            started = self._run(
                "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", opts,
                "-w", "-t", str(int(_READY_TIMEOUT_S)), "start", check=False,
            )  # fmt: skip
            if started.returncode == 0:
                self._wait_ready()
                return PostgresServer(user="postgres", host="127.0.0.1", port=self.port)
            # Most likely the port was taken between free_port() and bind: try another one.
        log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
        raise RuntimeError(f"pg_ctl start failed {_START_ATTEMPTS} times; log tail:\n{log}")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while time.monotonic() < deadline:
            ready = self._run(
                "pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                check=False,
            )  # fmt: skip
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL on port {self.port} not ready after {_READY_TIMEOUT_S}s")

    def stop(self) -> None:
        if self.data.exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL not available: {reason} (install postgresql or set {ENV_URL})")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL for the whole session (``$SOAKMON_TEST_POSTGRES_URL`` wins)."""
    external = os.environ.get(ENV_URL)
    if external:
        yield server_from_url(external)
        return
    bindir = find_bindir()
    if bindir is None:
        _unavailable("no initdb under /usr/lib/postgresql/*/bin or on PATH")
        return
    cluster = PrivateCluster(bindir)
    try:
        server = cluster.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        cluster.stop()
        _unavailable(str(exc))
        return
    try:
        yield server
    finally:
        cluster.stop()


async def create_database(server: PostgresServer) -> str:
    """Create ``t_<random>`` and return its URL. Deadlocks are detected after 200 ms there."""
    name = f"t_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(server.admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        # Not a superuser on an external server: keep that server's default.
        with contextlib.suppress(asyncpg.PostgresError):
            await conn.execute(f"ALTER DATABASE \"{name}\" SET deadlock_timeout = '200ms'")
    finally:
        await conn.close()
    return server.url(name)


async def drop_database(server: PostgresServer, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    conn = await asyncpg.connect(server.admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def postgres_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """A fresh, empty database for this test: ``postgresql://postgres@127.0.0.1:PORT/t_xxx``."""
    url = await create_database(postgres_server)
    try:
        yield url
    finally:
        await drop_database(postgres_server, url)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that reach PostgreSQL carry the ``postgres`` marker (``-m 'not postgres'``)."""
    for item in items:
        if "postgres_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
