"""A real Kubernetes control plane on loopback, without containers.

etcd (Debian's ``etcd-server``) + kube-apiserver + kube-controller-manager + kube-scheduler
(v1.34.2, built by ``scripts/kube-tools.sh`` into ``.tools/bin``) + kwok, which plays the kubelet
of a fake node: pods that the real scheduler binds to it go Running; pods whose containers would
exit (restartPolicy Never or OnFailure: Job pods, ``helm test`` hooks) complete, with the exit
code named by the ``kwok.soakmon.test/exit-code`` annotation (0 without it); pods of
Deployments and StatefulSets (restartPolicy Always) stay Running; deleted pods go away.
Everything listens on free loopback ports and lives in one temp dir.

- ``kube_cluster`` (session): the running :class:`ControlPlane`; tests that use it carry the
  ``kube`` marker (``-m 'not kube'`` leaves them out). Component logs are kept (and their path
  printed) when a test of the session failed.
- ``python -m tests.plugins.kube up|down [DIR]``: the same control plane by hand
  (``make kube-up`` / ``make kube-down``).

WatchList: Debian's etcd 3.4 cannot give the API server the watch-progress notifications that
streaming lists need ("a watch stream was requested by the client but the required storage
feature RequestWatchProgress is disabled"), so the gate is off on the server and
``WatchListClient`` off in every client (flag for the controller-manager and scheduler,
``KUBE_FEATURE_WatchListClient=false`` for kwok and the clients tests run). kwok v0.7.0's own
informer does not fall back to LIST/WATCH by itself, which once left a replacement pod Pending.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / ".tools" / "bin"
KUBE_BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
NODE_NAME = "kwok-node-0"
EXIT_CODE_ANNOTATION = "kwok.soakmon.test/exit-code"
_CLIENT_ENV = {"KUBE_FEATURE_WatchListClient": "false"}
_READY_TIMEOUT_S = 60.0
_START_ATTEMPTS = 2


class ControlPlaneError(RuntimeError):
    """The control plane could not start; the message names the component and its log tail."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def missing_binaries() -> list[str]:
    missing = [b for b in KUBE_BINARIES if not (TOOLS / b).is_file()]
    if shutil.which("etcd") is None:
        missing.append("etcd (apt-get install etcd-server)")
    if shutil.which("openssl") is None:
        missing.append("openssl")
    return missing


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


@dataclass
class ControlPlane:
    """Where the control plane lives and how to reach it as cluster admin."""

    workdir: Path
    server: str = ""
    admin_token: str = ""
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    started_in_s: float = 0.0
    die_with_parent: bool = True
    """Components get SIGTERM when the process that started them dies (a killed pytest leaves
    nothing running); ``make kube-up`` turns this off."""

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "admin.kubeconfig"

    @property
    def ca_file(self) -> Path:
        return self.workdir / "pki" / "apiserver.crt"

    @property
    def logs(self) -> Path:
        return self.workdir / "logs"

    def log(self, component: str) -> str:
        return _tail(self.logs / f"{component}.log", 100_000)

    # -- clients ---------------------------------------------------------------------------

    def kubeconfig_for(self, token: str, path: Path) -> Path:
        """A kubeconfig that authenticates with ``token`` (e.g. a ServiceAccount's)."""
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {
                            "name": "soakmon-test",
                            "cluster": {
                                "server": self.server,
                                "certificate-authority": str(self.ca_file),
                            },
                        }
                    ],
                    "users": [{"name": "user", "user": {"token": token}}],
                    "contexts": [
                        {
                            "name": "soakmon-test",
                            "context": {"cluster": "soakmon-test", "user": "user"},
                        }
                    ],
                    "current-context": "soakmon-test",
                },
                indent=2,
            )
        )
        path.chmod(0o600)
        return path

    def api_client(self, token: str | None = None) -> Any:
        """The official python client, as admin or as the holder of ``token``."""
        from kubernetes import client

        conf = client.Configuration()
        conf.host = self.server
        conf.ssl_ca_cert = str(self.ca_file)
        conf.api_key = {"authorization": f"Bearer {token or self.admin_token}"}
        return client.ApiClient(conf)

    def kubectl(
        self,
        *args: str,
        kubeconfig: Path | None = None,
        check: bool = True,
        stdin: str | None = None,
        timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:
        cmd = ["kubectl", f"--kubeconfig={kubeconfig or self.kubeconfig}", *args]
        proc = subprocess.run(
            cmd, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr}")
        return proc

    def env(self) -> dict[str, str]:
        """Environment for clients run by tests (kubectl, helm, soakmon) against this cluster."""
        return {**os.environ, **_CLIENT_ENV, "KUBECONFIG": str(self.kubeconfig)}

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> ControlPlane:
        t0 = time.monotonic()
        self.logs.mkdir(parents=True, exist_ok=True)
        pki = self.workdir / "pki"
        pki.mkdir(exist_ok=True)
        _openssl("genrsa", "-out", str(pki / "sa.key"), "2048")
        _openssl("rsa", "-in", str(pki / "sa.key"), "-pubout", "-out", str(pki / "sa.pub"))
        self.admin_token = secrets.token_hex(16)
        tokens = self.workdir / "tokens.csv"
        tokens.write_text(f"{self.admin_token},admin,admin,system:masters\n")
        tokens.chmod(0o600)

        etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        # etcd's fsyncs on a busy disk make every write slow; the data is throw-away.
        # (Named after this process, which the components do not outlive; `make kube-up`'s
        # control plane outlives it and keeps its data in its own directory.)
        shm = Path("/dev/shm")
        in_ram = self.die_with_parent and shm.is_dir()
        if in_ram:
            _remove_orphaned_etcd_dirs(shm)
        etcd_dir = Path(
            tempfile.mkdtemp(
                prefix=f"soakmon-etcd-{os.getpid()}-", dir=shm if in_ram else self.workdir
            )
        )
        (self.workdir / "etcd-data").write_text(str(etcd_dir))
        self._spawn(
            "etcd",
            [
                shutil.which("etcd") or "etcd",
                "--name=default",
                f"--data-dir={etcd_dir}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-cluster=default=http://127.0.0.1:{peer_port}",
                "--log-level=warn",
            ],
        )
        self._wait("etcd", lambda: _http_ok(f"{etcd_url}/health"))

        self.server = f"https://127.0.0.1:{api_port}"
        self._spawn(
            "kube-apiserver",
            [
                str(TOOLS / "kube-apiserver"),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={api_port}",
                f"--cert-dir={pki}",
                f"--token-auth-file={tokens}",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--service-cluster-ip-range=10.96.0.0/16",
                "--allow-privileged=true",
                # The "kubernetes" Service's endpoints would be the loopback address, which
                # Endpoints may not hold; nothing here routes to it anyway.
                "--endpoint-reconciler-type=none",
                "--feature-gates=WatchList=false",
                "--profiling=false",
                "--v=1",
            ],
        )
        self._wait("kube-apiserver", self._apiserver_ready)
        self._write_admin_kubeconfig()

        self._spawn(
            "kube-controller-manager",
            [
                str(TOOLS / "kube-controller-manager"),
                f"--kubeconfig={self.kubeconfig}",
                "--feature-gates=WatchListClient=false",
                "--leader-elect=false",
                "--secure-port=0",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--root-ca-file={self.ca_file}",
                "--use-service-account-credentials=false",
                "--v=1",
            ],
        )
        self._spawn(
            "kube-scheduler",
            [
                str(TOOLS / "kube-scheduler"),
                f"--kubeconfig={self.kubeconfig}",
                "--feature-gates=WatchListClient=false",
                "--leader-elect=false",
                "--secure-port=0",
                "--v=1",
            ],
        )
        self._spawn(
            "kwok",
            [
                str(TOOLS / "kwok"),
                f"--kubeconfig={self.kubeconfig}",
                f"--config={REPO / 'tests' / 'kube' / 'kwok.yaml'}",
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                f"--server-address=127.0.0.1:{free_port()}",
                "--node-lease-duration-seconds=40",
            ],
        )
        self.kubectl("apply", "-f", str(REPO / "tests" / "kube" / "node.yaml"))
        self._wait("kwok", self._node_ready)
        # The controller-manager's service-account controller makes "default" in each
        # namespace; pods cannot be created before it.
        self._wait("kube-controller-manager", self._default_service_account)
        self.started_in_s = time.monotonic() - t0
        return self

    def stop(self, keep_logs: bool = False) -> None:
        for name in reversed(list(self.procs)):
            proc = self.procs[name]
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
        marker = self.workdir / "etcd-data"
        if marker.exists():
            shutil.rmtree(marker.read_text().strip(), ignore_errors=True)
        if not keep_logs:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- internals -------------------------------------------------------------------------

    def _spawn(self, name: str, cmd: list[str]) -> None:
        env = {**os.environ, **_CLIENT_ENV}
        env.pop("KUBECONFIG", None)
        setpriv = shutil.which("setpriv")  # util-linux
        if self.die_with_parent and setpriv:
            cmd = [setpriv, "--pdeathsig", "TERM", "--", *cmd]
        with (self.logs / f"{name}.log").open("ab") as log:
            # Own session: a Ctrl-C reaches pytest, which stops the components in order.
            self.procs[name] = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        (self.workdir / f"{name}.pid").write_text(str(self.procs[name].pid))

    def _wait(self, name: str, ready: Any) -> None:
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while time.monotonic() < deadline:
            for component, proc in self.procs.items():
                if proc.poll() is not None:
                    raise ControlPlaneError(
                        f"{component} exited with {proc.returncode} while waiting for {name}; "
                        f"log {self.logs / (component + '.log')}:\n"
                        f"{_tail(self.logs / (component + '.log'))}"
                    )
            if ready():
                return
            time.sleep(0.1)
        raise ControlPlaneError(
            f"{name} not ready after {_READY_TIMEOUT_S:.0f} s; log {self.logs / (name + '.log')}:\n"
            f"{_tail(self.logs / (name + '.log'))}"
        )

    def _get(self, path: str) -> tuple[int, bytes]:
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        req = urllib.request.Request(
            self.server + path, headers={"Authorization": f"Bearer {self.admin_token}"}
        )
        try:
            with urllib.request.urlopen(req, timeout=5, context=ctx) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except (OSError, ssl.SSLError):
            return 0, b""

    def _apiserver_ready(self) -> bool:
        return self.ca_file.exists() and self._get("/readyz")[0] == 200

    def _node_ready(self) -> bool:
        status, body = self._get(f"/api/v1/nodes/{NODE_NAME}")
        if status != 200:
            return False
        conditions = json.loads(body).get("status", {}).get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def _default_service_account(self) -> bool:
        return self._get("/api/v1/namespaces/default/serviceaccounts/default")[0] == 200

    def _write_admin_kubeconfig(self) -> None:
        self.kubeconfig_for(self.admin_token, self.kubeconfig)


def _remove_orphaned_etcd_dirs(shm: Path) -> None:
    """etcd data (RAM in /dev/shm) of sessions that were killed before their teardown."""
    for path in shm.glob("soakmon-etcd-*-*"):
        try:
            os.kill(int(path.name.split("-")[2]), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except (ValueError, PermissionError):
            continue


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


# -- pytest ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def kube_cluster(request: pytest.FixtureRequest) -> Iterator[ControlPlane]:
    """A running control plane for the whole session, started by the first test that asks."""
    missing = missing_binaries()
    if missing:
        message = f"missing {', '.join(missing)} (make test builds them: scripts/kube-tools.sh)"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    for attempt in range(_START_ATTEMPTS):
        plane = ControlPlane(Path(tempfile.mkdtemp(prefix="soakmon-kube-")))
        try:
            plane.start()
            break
        except (ControlPlaneError, OSError, subprocess.SubprocessError) as exc:
            # Most likely a port taken between free_port() and the bind: try new ones.
            plane.stop(keep_logs=True)
            if attempt == _START_ATTEMPTS - 1:
                pytest.fail(f"the Kubernetes control plane did not start: {exc}", pytrace=False)
    print(f"\nkube control plane ready in {plane.started_in_s:.1f} s ({plane.workdir})")
    try:
        yield plane
    finally:
        failed = request.session.testsfailed > 0
        plane.stop(keep_logs=failed)
        if failed:
            print(f"\nkube control plane logs kept in {plane.logs}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that reach the control plane carry the ``kube`` marker (``-m 'not kube'``)."""
    for item in items:
        if "kube_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.kube)


# -- make kube-up / kube-down -------------------------------------------------------------------


def _up(workdir: Path) -> int:
    pid_file = workdir / "kube-apiserver.pid"
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text()), 0)
        except (ProcessLookupError, ValueError):
            _down(workdir)  # left over from a reboot or a crash
        else:
            print(f"a control plane is already up in {workdir}", file=sys.stderr)
            print(workdir / "admin.kubeconfig")
            return 0
    missing = missing_binaries()
    if missing:
        print(f"missing {', '.join(missing)}: run scripts/kube-tools.sh", file=sys.stderr)
        return 1
    workdir.mkdir(parents=True, exist_ok=True)
    plane = ControlPlane(workdir, die_with_parent=False)
    try:
        plane.start()
    except (ControlPlaneError, OSError, subprocess.SubprocessError) as exc:
        plane.stop(keep_logs=True)
        print(f"the control plane did not start: {exc}", file=sys.stderr)
        return 1
    # Leave the processes running: kube-down stops them by the pids written beside the logs.
    plane.procs.clear()
    print(f"control plane up in {plane.started_in_s:.1f} s at {plane.server}", file=sys.stderr)
    print(f"logs in {plane.logs}; stop with: make kube-down", file=sys.stderr)
    print(f"export KUBECONFIG={plane.kubeconfig}", file=sys.stderr)
    print(plane.kubeconfig)
    return 0


def _down(workdir: Path) -> int:
    pids = sorted(workdir.glob("*.pid"))
    if not pids:
        print(f"no control plane in {workdir}", file=sys.stderr)
        return 0
    # Stop in reverse start order: clients first, etcd last.
    order = {name: i for i, name in enumerate(("etcd", "kube-apiserver", *KUBE_BINARIES[1:]))}
    pids.sort(key=lambda p: -order.get(p.stem, 99))
    for pid_file in pids:
        pid = int(pid_file.read_text())
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            for _ in range(150):
                os.kill(pid, 0)
                time.sleep(0.1)
            os.kill(pid, signal.SIGKILL)
        pid_file.unlink()
    marker = workdir / "etcd-data"
    if marker.exists():
        shutil.rmtree(marker.read_text().strip(), ignore_errors=True)
    shutil.rmtree(workdir, ignore_errors=True)
    print(f"control plane in {workdir} stopped", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.plugins.kube", description="A local Kubernetes control plane."
    )
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("dir", nargs="?", default=str(REPO / ".tools" / "kube"))
    args = parser.parse_args(argv)
    workdir = Path(args.dir).resolve()
    return _up(workdir) if args.action == "up" else _down(workdir)


if __name__ == "__main__":
    sys.exit(main())
