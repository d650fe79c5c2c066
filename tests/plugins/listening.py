"""A server process the tests started: wait until it listens, stop it at the end."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def listening(
    proc: subprocess.Popen[bytes], port: int, name: str, last_words: Callable[[], str]
) -> Iterator[None]:
    """Wait (at most 15 s) until ``proc`` accepts on 127.0.0.1:``port``, then yield; terminate
    it (kill after 5 s) on the way out. An early exit raises with the end of ``last_words()``."""
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited: {last_words()[-800:]}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not listen within 15 s")
            time.sleep(0.05)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
