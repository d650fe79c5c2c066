"""HAProxy as the HTTP/2 front of a loopback service (the reference target): HTTP/1.1 and h2c
prior knowledge on one plain port, or TLS with ALPN ``h2,http/1.1``; proxied to the service
over keep-alive HTTP/1.1.

Why a second front beside nginx (:mod:`tests.plugins.nginx_h2`): nginx 1.22 (Debian 12) serves
only h2c on a plain ``http2`` listener, so a whole ``soakmon run --h2c`` (whose set-up and
sequential steps are HTTP/1.1, only its concurrent phases HTTP/2) cannot go through it.
HAProxy detects the HTTP/2 connection preface on a plain port and serves both. It forwards
each stream to the service on an upstream HTTP/1.1 connection of its own: by default as soon as
its headers arrive, the body streamed after them (a request with a body is held at the service
by its last byte; one without a body reaches it on its headers); with ``buffered=True``
(``option http-buffer-request``, what nginx does by default) only once the stream is complete,
connecting upstream only then,
so what the service sees is HAProxy's re-sent burst; the service's ``X-Arrival-Ns`` comes
back through the proxy and says how tight that burst arrived.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

from yarl import URL

from tests.plugins.listening import listening
from tests.plugins.tls import Cert


def haproxy_binary() -> str | None:
    """The haproxy program, or ``None`` when it is not installed."""
    return shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")


def render_conf(*, port: int, upstream: URL, pem: Path | None, buffered: bool = False) -> str:
    """haproxy.cfg for a foreground HAProxy on 127.0.0.1:port in front of ``upstream``."""
    tls = f" ssl crt {pem} alpn h2,http/1.1" if pem else ""
    buffer = "option http-buffer-request" if buffered else "# requests streamed to the service"
    return f"""\
global
    maxconn 4096
    tune.h2.max-concurrent-streams 256

defaults
    mode http
    {buffer}
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s

frontend front
    bind 127.0.0.1:{port}{tls}
    default_backend service

backend service
    http-reuse always
    server s1 {upstream.host}:{upstream.port} pool-max-conn 256
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def haproxy_h2_front(
    upstream: str, workdir: Path, cert: Cert | None = None, *, buffered: bool = False
) -> Iterator[str]:
    """Serve ``upstream`` over HTTP/2 and HTTP/1.1 (``https://`` with ``cert``, else plain
    ``http://`` with h2c prior knowledge); yields the front's URL; HAProxy is stopped on exit
    (bounded: it never outlives the block)."""
    binary = haproxy_binary()
    if binary is None:
        raise RuntimeError("haproxy is not installed (scripts/system-deps.sh stats installs it)")
    prefix = workdir / f"haproxy-h2-{'tls' if cert else 'h2c'}"
    prefix.mkdir(parents=True, exist_ok=True)
    pem: Path | None = None
    if cert is not None:  # HAProxy takes the certificate and its key in one file
        pem = prefix / "front.pem"
        pem.write_text(Path(cert.cert_file).read_text() + Path(cert.key_file).read_text())
    port = _free_port()
    conf = prefix / "haproxy.cfg"
    conf.write_text(render_conf(port=port, upstream=URL(upstream), pem=pem, buffered=buffered))
    log = prefix / "stderr.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [binary, "-db", "-f", str(conf)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    with listening(proc, port, "haproxy", log.read_text):
        yield f"{'https' if cert else 'http'}://127.0.0.1:{port}"
