"""How the statistics reach the target: straight over HTTP/1.1, or through a real HTTP/2 server
in front of it (``--stats-h2 h2c|tls``, ``--stats-front haproxy|haproxy-buffered|nginx``).

The reference target is an aiohttp application: aiohttp serves HTTP/1.1 only, and hypercorn
(an HTTP/2 server for Python) serves ASGI applications only, so the target cannot speak HTTP/2
itself. A production HTTP/2 front does it instead, as it would in a deployment: HAProxy
(HTTP/1.1 and h2c prior knowledge on one plain port, or TLS with ALPN; ``haproxy-buffered``
forwards a request only once its stream is complete) or nginx (TLS only here:
nginx 1.22 serves nothing but h2c on a plain HTTP/2 port, and a run's set-up steps are
HTTP/1.1). Either front receives the phase's streams in one packet and forwards each to the
target on an upstream HTTP/1.1 connection of its own: the target sees the proxy's re-sent
burst, whose width its ``X-Arrival-Ns`` stamps report (the trials' arrival spread).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.engine import SyncMode
from tests.plugins.haproxy_h2 import haproxy_h2_front
from tests.plugins.nginx_h2 import nginx_h2_front
from tests.plugins.target_process import forked_target
from tests.plugins.tls import Cert

#: --stats-front choices: the HTTP/2 servers that can front the reference target.
FRONTS = ("haproxy", "haproxy-buffered", "nginx")
#: --stats-h2 choices: no front (HTTP/1.1 straight to the target), h2c, TLS with ALPN h2.
H2_MODES = ("none", "h2c", "tls")


def label(sync: str, h2: str, front: str) -> str:
    """For the results table and JSON: ``sync auto, HTTP/1.1 direct``, ``sync single-packet,
    TLS (ALPN) h2 via haproxy`` ..."""
    if h2 == "none":
        return f"sync {sync}, HTTP/1.1 direct"
    return f"sync {sync}, {'TLS (ALPN) h2' if h2 == 'tls' else 'h2c'} via {front}"


def check_front(h2: str, front: str) -> None:
    """Raise ValueError for a combination that cannot serve a whole run."""
    if h2 not in H2_MODES:
        raise ValueError(f"--stats-h2: expected one of {H2_MODES}, got {h2!r}")
    if front not in FRONTS:
        raise ValueError(f"--stats-front: expected one of {FRONTS}, got {front!r}")
    if h2 == "h2c" and front == "nginx":
        raise ValueError(
            "--stats-h2 h2c --stats-front nginx: nginx 1.22 serves only h2c on a plain "
            "HTTP/2 port, and a run's set-up steps are HTTP/1.1; use --stats-front haproxy"
        )


@dataclass(frozen=True)
class Delivery:
    """How a trial's requests reach the target."""

    sync: SyncMode = SyncMode.AUTO
    """soakmon's ``--sync`` (auto: its default)."""
    h2: str = "none"
    """``none``, ``h2c`` or ``tls``: the HTTP/2 front the target is served through."""
    front: str = "haproxy"
    """Which HTTP/2 server fronts it."""
    cert: Cert | None = None
    """The front's certificate (``tls``); soakmon trusts it as its CA."""

    def __post_init__(self) -> None:
        check_front(self.h2, self.front)
        if self.h2 == "tls" and self.cert is None:
            raise ValueError("--stats-h2 tls needs a certificate")

    @property
    def h2c(self) -> bool:
        """soakmon's ``--h2c``: the target speaks HTTP/2 in clear text."""
        return self.h2 == "h2c"

    @property
    def ca_file(self) -> str | None:
        """soakmon's ``--ca-file``: the front's self-signed certificate."""
        return self.cert.cert_file if self.cert is not None else None

    def wrong_phases(self, phases: Sequence[tuple[str, str, int]]) -> list[str]:
        """Concurrent phases (``(sync, protocol, requests)``) not delivered as asked: with
        ``--stats-sync single-packet`` every batch of two or more requests must have gone as
        HTTP/2 streams released in one write, else the trial measured something else."""
        if self.sync is not SyncMode.SINGLE_PACKET:
            return []
        return [
            f"{sync}/{protocol} x{requests}"
            for sync, protocol, requests in phases
            if requests > 1 and (sync, protocol) != ("single-packet", "h2")
        ]

    @contextlib.contextmanager
    def serve(self, url: str) -> Iterator[str]:
        """``url`` as soakmon is given it: behind the HTTP/2 front when there is one."""
        if self.h2 == "none":
            yield url
            return
        cert = self.cert if self.h2 == "tls" else None
        with tempfile.TemporaryDirectory(prefix="soakmon-stats-front-") as tmp:
            if self.front == "nginx":
                served = nginx_h2_front(url, Path(tmp), cert)
            else:
                served = haproxy_h2_front(
                    url, Path(tmp), cert, buffered=self.front == "haproxy-buffered"
                )
            with served as front:
                yield front

    @contextlib.asynccontextmanager
    async def target(
        self, db_url: str | None, faults: Sequence[str] = (), race_window: float | None = None
    ) -> AsyncIterator[str]:
        """A fresh reference target (its own process), behind the front when there is one;
        yields the URL soakmon is given."""
        async with forked_target(db_url, faults, race_window=race_window) as url:
            with self.serve(url) as front:
                yield front
