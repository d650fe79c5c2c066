"""A real Alertmanager (Debian's ``prometheus-alertmanager``) on loopback, for alerting tests.

The server can be stopped and started again on the same port and storage (an outage).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.plugins.prometheus import free_port

CONFIG = """\
global:
  resolve_timeout: 5m
route:
  receiver: blackhole
  group_by: [alertname, target, suite]
  group_wait: 0s
  group_interval: 1s
receivers:
  - name: blackhole
"""


def _binary() -> str:
    for name in ("prometheus-alertmanager", "alertmanager"):
        path = shutil.which(name)
        if path is not None:
            return path
    message = "Alertmanager is not installed (apt-get install prometheus-alertmanager)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


class AlertmanagerServer:
    """One Alertmanager process; :meth:`stop` and :meth:`start` keep port and storage."""

    def __init__(self, binary: str, workdir: Path, port: int, config: str = CONFIG) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        (workdir / "alertmanager.yml").write_text(config)

    def log(self) -> str:
        return (self.workdir / "alertmanager.log").read_text(errors="replace")

    def start(self) -> None:
        log = (self.workdir / "alertmanager.log").open("ab")
        self.proc = subprocess.Popen(
            [
                self.binary,
                f"--config.file={self.workdir / 'alertmanager.yml'}",
                f"--storage.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"alertmanager exited: {self.log()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        pytest.fail(f"alertmanager did not become ready: {self.log()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def alerts(self, **labels: str) -> list[dict[str, Any]]:
        """``GET /api/v2/alerts`` (active only: resolved ones are not listed), keeping those
        whose labels include ``labels``."""
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=5) as resp:
            data: list[dict[str, Any]] = json.load(resp)
        return [a for a in data if all(a["labels"].get(k) == v for k, v in labels.items())]


StartAlertmanager = Callable[..., AlertmanagerServer]


@pytest.fixture
def start_alertmanager() -> Iterator[StartAlertmanager]:
    """``start_alertmanager(config=YAML)`` → a running Alertmanager on a free loopback port
    (default config: one receiver that sends nothing)."""
    binary = _binary()
    started: list[AlertmanagerServer] = []

    def start(config: str = CONFIG) -> AlertmanagerServer:
        workdir = Path(tempfile.mkdtemp(prefix="soakmon-am-"))
        server = AlertmanagerServer(binary, workdir, free_port(), config)
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()
        shutil.rmtree(server.workdir, ignore_errors=True)
