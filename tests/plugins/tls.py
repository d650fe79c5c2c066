"""A self-signed certificate for 127.0.0.1 (made with the ``openssl`` command line), for TLS
targets on loopback: ``self_signed`` -> ``Cert(cert_file, key_file)``; the certificate is its
own CA, so clients trust it with ``ca_file=cert_file``."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Cert:
    cert_file: str
    key_file: str

    def server_context(self, alpn: list[str] | None = None) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        if alpn:
            context.set_alpn_protocols(alpn)
        return context


def make_cert(folder: Path) -> Cert:
    """Write a one-day self-signed certificate for 127.0.0.1 and localhost into ``folder``."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (make system-deps)")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return Cert(str(cert), str(key))


@pytest.fixture(scope="session")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    """One self-signed loopback certificate for the test session."""
    return make_cert(tmp_path_factory.mktemp("tls"))
