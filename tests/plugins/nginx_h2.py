"""nginx as the HTTP/2 front of a loopback service (the reference target): h2c with prior
knowledge, or TLS with ALPN ``h2``, proxied to the service over keep-alive HTTP/1.1.

The reference target is an aiohttp application, which serves HTTP/1.1 only, and hypercorn
serves ASGI applications only; nginx is the maintained HTTP/2 server that fronts such services
in production, an implementation independent of the ``h2`` library the sender is built on.
It forwards each stream to the service as soon as the stream is complete (``proxy_request_
buffering`` of a complete body costs nothing), so a single-packet batch reaches the service
as one burst; the service's ``X-Arrival-Ns`` comes back through the proxy.
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


def nginx_binary() -> str | None:
    """The nginx program, or ``None`` when it is not installed."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def render_conf(
    *, port: int, upstream: URL, prefix: Path, cert: Cert | None, max_requests: int = 1000000
) -> str:
    """nginx.conf for a foreground nginx on 127.0.0.1:port in front of ``upstream``; after
    ``max_requests`` requests on a connection nginx ends it gracefully (GOAWAY NO_ERROR)."""
    listen = f"listen 127.0.0.1:{port} ssl http2;" if cert else f"listen 127.0.0.1:{port} http2;"
    tls = (
        f"ssl_certificate {cert.cert_file};\n        ssl_certificate_key {cert.key_file};"
        if cert
        else ""
    )
    return f"""\
daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server_tokens off;
    upstream service {{
        server {upstream.host}:{upstream.port};
        keepalive 256;
    }}
    server {{
        {listen}
        {tls}
        http2_max_concurrent_streams 256;
        keepalive_requests {max_requests};
        location / {{
            proxy_pass http://service;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def nginx_h2_front(
    upstream: str, workdir: Path, cert: Cert | None = None, *, max_requests: int = 1000000
) -> Iterator[str]:
    """Serve ``upstream`` over HTTP/2 (``https://`` with ``cert``, else h2c ``http://``);
    yields the front's URL; nginx is stopped on exit (bounded: it never outlives the block)."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (scripts/system-deps.sh installs it)")
    prefix = workdir / f"nginx-h2-{'tls' if cert else 'h2c'}"
    prefix.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(
        render_conf(
            port=port, upstream=URL(upstream), prefix=prefix, cert=cert, max_requests=max_requests
        )
    )
    log = (prefix / "stderr.log").open("wb")
    proc = subprocess.Popen(
        [binary, "-c", str(conf), "-p", str(prefix), "-e", str(prefix / "error.log")],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        with listening(proc, port, "nginx", (prefix / "error.log").read_text):
            yield f"{'https' if cert else 'http'}://127.0.0.1:{port}"
    finally:
        log.close()
