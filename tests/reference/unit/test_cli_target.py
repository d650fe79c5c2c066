"""``soakmon target serve``: the listening line, clean SIGTERM exit, exit codes for bad input."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

SOAKMON = Path(sys.executable).parent / "soakmon"


async def _run(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        str(SOAKMON), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_serve_prints_its_url_serves_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    db = tmp_path / "ref.db"
    proc = await asyncio.create_subprocess_exec(
        str(SOAKMON), "target", "serve", "--port", "0", "--db", f"sqlite:///{db}",
        "--fault", "slow",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
        assert line.startswith("listening on http://127.0.0.1:")
        url = line.removeprefix("listening on ")
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/readyz") as r:
                assert r.status == 200
            async with http.post(f"{url}/auth/register", json={"username": "x"}) as r:
                assert r.status == 201  # and slowly: the fault is on
        assert db.exists()
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 15)
        assert proc.returncode == 0
        assert "Traceback" not in err.decode()
        assert "faults: slow" in err.decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--fault", "nope"], 2, "unknown fault 'nope'; valid faults: lost-update"),
        (["--db", "mysql://u@h/db"], 2, "unsupported database URL scheme 'mysql'"),
        (["--db", "postgresql://u@h"], 2, "names no database"),
        (["--port", "70000"], 2, "--port must be between 0 and 65535"),
        (["--db", "postgresql://postgres@127.0.0.1:1/x"], 3, "cannot use database"),
        (["--db", "sqlite:////nonexistent-dir/x/ref.db"], 3, "unable to open database file"),
    ],
)
async def test_bad_input_exits_with_a_clear_message_and_no_traceback(
    args: list[str], code: int, message: str
) -> None:
    rc, _, err = await _run("target", "serve", "--port", "0", *args)
    assert rc == code
    assert message in err
    assert "Traceback" not in err


async def test_busy_port_is_a_usage_error() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        rc, _, err = await _run("target", "serve", "--port", str(port))
        assert rc == 2
        assert f"cannot listen on 127.0.0.1:{port}" in err
    finally:
        server.close()
        await server.wait_closed()
