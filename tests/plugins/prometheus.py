"""A real Prometheus server (Debian's ``prometheus``) on loopback, for tests that need one."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _need(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        message = f"{binary} is not installed (make test installs it: apt-get install prometheus)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


class PrometheusServer:
    """A running Prometheus with a scrape config of loopback targets."""

    def __init__(self, url: str, proc: subprocess.Popen[bytes], workdir: Path) -> None:
        self.url = url
        self.proc = proc
        self.workdir = workdir

    def log(self) -> str:
        return (self.workdir / "prometheus.log").read_text(errors="replace")


StartPrometheus = Callable[..., PrometheusServer]


@pytest.fixture
def start_prometheus() -> Iterator[StartPrometheus]:
    """``start_prometheus(["127.0.0.1:9109", ...], rule_files=[...])`` → a Prometheus scraping
    those every 1 s (job ``soakmon``) and evaluating the rule files every 1 s."""
    binary = _need("prometheus")
    started: list[PrometheusServer] = []

    def start(
        targets: list[str],
        metrics_path: str = "/metrics",
        honor_labels: bool = False,
        rule_files: Sequence[Path] = (),
    ) -> PrometheusServer:
        workdir = Path(tempfile.mkdtemp(prefix="soakmon-prom-"))
        port = free_port()
        rules = f"rule_files: {[str(p) for p in rule_files]!r}\n" if rule_files else ""
        (workdir / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            + rules
            + "scrape_configs:\n  - job_name: soakmon\n"
            f"    metrics_path: {metrics_path}\n"
            f"    honor_labels: {'true' if honor_labels else 'false'}\n"
            f"    static_configs:\n      - targets: {targets!r}\n"
        )
        log = (workdir / "prometheus.log").open("wb")
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--enable-feature=exemplar-storage",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        server = PrometheusServer(f"http://127.0.0.1:{port}", proc, workdir)
        started.append(server)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"prometheus exited: {server.log()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{server.url}/-/ready", timeout=1) as resp:
                    if resp.status == 200:
                        return server
            except OSError:
                time.sleep(0.2)
        pytest.fail(f"prometheus did not become ready: {server.log()[-2000:]}")

    yield start
    for server in started:
        server.proc.terminate()
        try:
            server.proc.wait(10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()
        shutil.rmtree(server.workdir, ignore_errors=True)
