"""A real Toxiproxy server for the tests (``make test`` builds it into .tools/bin).

``toxiproxy_server`` (session) starts ``toxiproxy-server`` on a free loopback port and yields
its API URL; ``toxiproxy_api`` (function) hands a test that URL after removing every proxy
(a clean server). Missing binary: skipped locally, a failure in CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.plugins.postgres import free_port

_BIN = Path(__file__).resolve().parents[2] / ".tools" / "bin" / "toxiproxy-server"


def _binary() -> str | None:
    if _BIN.exists():
        return str(_BIN)
    return shutil.which("toxiproxy-server")


@pytest.fixture(scope="session")
def toxiproxy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = _binary()
    if binary is None:
        reason = "toxiproxy-server not built (make .tools/bin/toxiproxy-server)"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    port = free_port()
    log = tmp_path_factory.mktemp("toxiproxy") / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [binary, "-host", "127.0.0.1", "-port", str(port)], stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    try:
        while True:
            try:
                import urllib.request

                with urllib.request.urlopen(f"{url}/version", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"toxiproxy did not start: {log.read_text()}") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
async def toxiproxy_api(toxiproxy_server: str) -> AsyncIterator[str]:
    """The API URL of a Toxiproxy with no proxies (each test creates its own)."""

    async def clear() -> None:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{toxiproxy_server}/proxies") as resp:
                names = list(await resp.json())
            for name in names:
                async with http.delete(f"{toxiproxy_server}/proxies/{name}"):
                    pass

    await clear()
    yield toxiproxy_server
    await clear()
