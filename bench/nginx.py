"""A private nginx on loopback serving a tiny fixed response: the target that is not the bottleneck.

One worker pinned to the core the load generator does not use, no access log, keep-alive
connections that are never closed by the server during a run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.procs import TARGET_CORE, free_port, pinned, require_program, service

BODY = "ok\n"
STATUS_PATH = "/.nginx-status"
"""nginx's own request counter (``stub_status``): the requests it answered, whoever sent them."""


def render_conf(*, port: int, prefix: Path, core: int = TARGET_CORE) -> str:
    """The nginx.conf text for a foreground nginx on 127.0.0.1:port with one pinned worker."""
    mask = "1" + "0" * core  # nginx affinity bitmask, rightmost digit is CPU 0
    return f"""\
daemon off;
master_process on;
worker_processes 1;
worker_cpu_affinity {mask};
worker_rlimit_nofile 65536;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{
    worker_connections 16384;
    multi_accept on;
}}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    server_tokens off;
    server {{
        listen 127.0.0.1:{port} backlog=4096 reuseport;
        location / {{
            default_type text/plain;
            return 200 "{BODY.strip()}\\n";
        }}
        location = {STATUS_PATH} {{
            stub_status;
        }}
    }}
}}
"""


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    port: int
    pid: int


@contextlib.contextmanager
def nginx_target(workdir: Path) -> Iterator[Target]:
    """Start nginx in ``workdir`` on a free port (pinned to the target core); stop it on exit."""
    binary = require_program("nginx")
    prefix = workdir / "nginx"
    prefix.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(render_conf(port=port, prefix=prefix))
    argv = pinned(TARGET_CORE, [binary, "-c", str(conf), "-p", str(prefix), "-e", "stderr"])
    with service(argv, port=port, log=prefix / "stdout.log") as proc:
        yield Target(url=f"http://127.0.0.1:{port}", port=port, pid=proc.pid)
