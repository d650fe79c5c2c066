"""A stand-in for metrics-server, registered with the real API server as an aggregated API.

metrics-server cannot run here (it scrapes kubelets, and kwok's node has none), so this small
HTTPS server answers ``metrics.k8s.io/v1beta1`` in its place: PodMetrics for the real pods of
the API server (listed with the label selector the client sent), each using the memory named by
its ``soakmon.test/memory`` annotation (``100Mi`` without one). What is real: the APIService
registration, the aggregator proxying the client's request (with its RBAC check first), and the
official client reading the answer. The server is reached as an ExternalName Service pointing at
``localhost``, verified with a caBundle.
"""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.plugins.kube import ControlPlane

GROUP_VERSION = "metrics.k8s.io/v1beta1"
APISERVICE = "v1beta1.metrics.k8s.io"
SERVICE = "metrics-standin"
NAMESPACE = "kube-system"
MEMORY_ANNOTATION = "soakmon.test/memory"


class MetricsStandIn:
    def __init__(self, plane: ControlPlane, workdir: Path) -> None:
        self.plane = plane
        self.workdir = workdir
        self.requests: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- the HTTPS server ------------------------------------------------------------------

    def start(self) -> int:
        cert, key = self.workdir / "metrics.crt", self.workdir / "metrics.key"
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", f"/CN={SERVICE}.{NAMESPACE}.svc",
                "-addext", f"subjectAltName=DNS:{SERVICE}.{NAMESPACE}.svc,DNS:localhost",
                "-keyout", str(key), "-out", str(cert),
            ],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        self.cert = cert
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                status, body = standin.answer(self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="metrics-standin")
        self._thread.start()
        port: int = server.server_address[1]
        return port

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)

    def answer(self, raw_path: str) -> tuple[int, dict[str, Any]]:
        url = urlsplit(raw_path)
        path = url.path.rstrip("/")
        if path == "/apis":
            return 200, {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [_group()],
            }
        if path == "/apis/metrics.k8s.io":
            return 200, {"kind": "APIGroup", "apiVersion": "v1", **_group()}
        if path == f"/apis/{GROUP_VERSION}":
            return 200, {
                "kind": "APIResourceList",
                "apiVersion": "v1",
                "groupVersion": GROUP_VERSION,
                "resources": [
                    {
                        "name": "pods",
                        "singularName": "",
                        "namespaced": True,
                        "kind": "PodMetrics",
                        "verbs": ["get", "list"],
                    }
                ],
            }
        parts = path.split("/")
        # /apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods
        if len(parts) == 7 and parts[4] == "namespaces" and parts[6] == "pods":
            selector = parse_qs(url.query).get("labelSelector", [""])[0]
            self.requests.append(f"{parts[5]}?{selector}")
            return 200, self._pod_metrics(parts[5], selector)
        return 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404}

    def _pod_metrics(self, namespace: str, selector: str) -> dict[str, Any]:
        from kubernetes import client

        with self.plane.api_client() as api_client:
            pods = client.CoreV1Api(api_client).list_namespaced_pod(
                namespace, label_selector=selector
            )
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        items = [
            {
                "metadata": {
                    "name": pod.metadata.name,
                    "namespace": namespace,
                    "labels": pod.metadata.labels,
                },
                "timestamp": now,
                "window": "10s",
                "containers": [
                    {
                        "name": c.name,
                        "usage": {
                            "cpu": "1m",
                            "memory": (pod.metadata.annotations or {}).get(
                                MEMORY_ANNOTATION, "100Mi"
                            ),
                        },
                    }
                    for c in pod.spec.containers
                ],
            }
            for pod in pods.items
            if pod.status.phase == "Running"
        ]
        return {"kind": "PodMetricsList", "apiVersion": GROUP_VERSION, "items": items}

    # -- registration with the API server --------------------------------------------------

    def register(self, port: int, timeout_s: float = 60) -> None:
        from kubernetes import client

        with self.plane.api_client() as api_client:
            client.CoreV1Api(api_client).create_namespaced_service(
                NAMESPACE,
                {
                    "metadata": {"name": SERVICE},
                    "spec": {
                        "type": "ExternalName",
                        "externalName": "localhost",
                        "ports": [{"port": port, "protocol": "TCP"}],
                    },
                },
            )
            client.ApiregistrationV1Api(api_client).create_api_service(
                {
                    "metadata": {"name": APISERVICE},
                    "spec": {
                        "group": "metrics.k8s.io",
                        "version": "v1beta1",
                        "groupPriorityMinimum": 100,
                        "versionPriority": 100,
                        "service": {"name": SERVICE, "namespace": NAMESPACE, "port": port},
                        "caBundle": base64.b64encode(self.cert.read_bytes()).decode(),
                    },
                }
            )
            api = client.ApiregistrationV1Api(api_client)
            deadline = time.monotonic() + timeout_s
            conditions: list[Any] = []
            while time.monotonic() < deadline:
                conditions = api.read_api_service(APISERVICE).status.conditions or []
                if any(c.type == "Available" and c.status == "True" for c in conditions):
                    return
                time.sleep(0.2)
        raise AssertionError(f"APIService {APISERVICE} not Available: {conditions}")

    def unregister(self) -> None:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        with self.plane.api_client() as api_client:
            for delete in (
                lambda: client.ApiregistrationV1Api(api_client).delete_api_service(APISERVICE),
                lambda: client.CoreV1Api(api_client).delete_namespaced_service(SERVICE, NAMESPACE),
            ):
                try:
                    delete()
                except ApiException as exc:
                    if exc.status != 404:
                        raise


def _group() -> dict[str, Any]:
    version = {"groupVersion": GROUP_VERSION, "version": "v1beta1"}
    return {"name": "metrics.k8s.io", "versions": [version], "preferredVersion": version}
