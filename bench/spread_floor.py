"""The floor under the release pass: the same last-byte phases sent by a bare loop of
``write(2)`` calls, in C (``bench/spread_floor.c``, built with the system's C compiler when
there is one) and in plain Python (blocking sockets, ``os.write``), against the same target.
What soakmon's send spread can approach: the rest of a loopback write is the kernel's TCP send
and receive path, which no client avoids."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from monitor.engine import RequestSpec
from monitor.engine.sync.priority import pass_priority

SOURCE = Path(__file__).with_name("spread_floor.c")
SETTLE_S = 0.002


def wire_requests(host: str, port: int, specs: Sequence[RequestSpec]) -> list[bytes]:
    """Each spec as the bytes of one HTTP/1.1 keep-alive request (JSON body)."""
    out = []
    for spec in specs:
        body = json.dumps(spec.json).encode() if spec.json is not None else b""
        headers = {"Host": f"{host}:{port}", **(spec.headers or {})}
        if body:
            headers |= {"Content-Type": "application/json", "Content-Length": str(len(body))}
        head = f"{spec.method} {spec.path} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()
        )
        out.append(head.encode("latin-1") + b"\r\n" + body)
    return out


def c_floor(port: int, requests: Sequence[bytes], phases: int) -> list[float] | None:
    """Send spreads (seconds) of ``phases`` passes by the C loop; ``None`` without a compiler."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    with tempfile.TemporaryDirectory(prefix="soakmon-floor-") as tmp:
        binary, reqs = Path(tmp) / "spread_floor", Path(tmp) / "requests"
        subprocess.run([cc, "-O2", "-o", str(binary), str(SOURCE)], check=True, timeout=60)
        reqs.write_bytes(b"".join(b"%d\n%s" % (len(r), r) for r in requests))
        done = subprocess.run(
            [str(binary), str(port), str(phases), str(reqs)],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    return [int(line) / 1e9 for line in done.stdout.split()]


def _read_response(sock: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536) or _closed()
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += sock.recv(65536) or _closed()


def _closed() -> bytes:
    raise ConnectionError("the target closed the connection")


def python_floor(port: int, requests: Sequence[bytes], phases: int) -> list[float]:
    """Send spreads (seconds) of ``phases`` passes by a plain Python loop of ``os.write``."""
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in requests]
    try:
        for sock in socks:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        finals = [(s.fileno(), r[-1:]) for s, r in zip(socks, requests, strict=True)]
        spreads = []
        for _ in range(phases):
            for sock, request in zip(socks, requests, strict=True):
                sock.sendall(request[:-1])
            time.sleep(SETTLE_S)
            with pass_priority():
                first = time.perf_counter_ns()
                for fd, last in finals:
                    os.write(fd, last)
                final = time.perf_counter_ns()
            spreads.append((final - first) / 1e9)
            for sock in socks:
                _read_response(sock)
        return spreads
    finally:
        for sock in socks:
            sock.close()
