"""A server process the tests (and benchmarks) started: wait until it is ready, stop it at the
end."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Literal


def wait_ready(
    ready: Callable[[], bool], proc: subprocess.Popen[bytes], *, within: float, every: float
) -> Literal["ready", "exited", "timeout"]:
    """Ask ``ready()`` every ``every`` s until it says yes, ``proc`` exits or ``within`` s
    pass; which came first."""
    deadline = time.monotonic() + within
    while True:
        if proc.poll() is not None:
            return "exited"
        if ready():
            return "ready"
        if time.monotonic() > deadline:
            return "timeout"
        time.sleep(every)


def accepts(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port`` now."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


@contextlib.contextmanager
def listening(
    proc: subprocess.Popen[bytes], port: int, name: str, last_words: Callable[[], str]
) -> Iterator[None]:
    """Wait (at most 15 s) until ``proc`` accepts on 127.0.0.1:``port``, then yield; terminate
    it (kill after 5 s) on the way out. An early exit raises with the end of ``last_words()``."""
    try:
        came = wait_ready(lambda: accepts(port), proc, within=15, every=0.05)
        if came == "exited":
            raise RuntimeError(f"{name} exited: {last_words()[-800:]}")
        if came == "timeout":
            raise RuntimeError(f"{name} did not listen within 15 s")
        yield
    finally:
        stop(proc, grace=5)


def stop(proc: subprocess.Popen[bytes], *, grace: float) -> None:
    """SIGTERM ``proc``; SIGKILL it when it is still running after ``grace`` seconds."""
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(grace)
