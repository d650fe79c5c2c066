"""The reference target over real HTTP/2: nginx in front of it (h2c prior knowledge, and TLS
with ALPN h2), the phase delivered single-packet, the target's arrival stamps passed through."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.engine import ConcurrentTester, RequestSpec
from tests.plugins.nginx_h2 import nginx_binary, nginx_h2_front
from tests.plugins.reference import ReferenceFactory
from tests.plugins.tls import Cert

pytestmark = pytest.mark.skipif(nginx_binary() is None, reason="nginx not installed")


@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "tls-alpn"])
async def test_reference_target_behind_nginx_gets_the_phase_in_one_packet(
    reference_factory: ReferenceFactory, self_signed: Cert, tmp_path: Path, tls: bool
) -> None:
    url = await reference_factory()
    # set-up and read-back straight to the target: nginx 1.22 serves h2c (prior knowledge)
    # only, not HTTP/1.1, on a plain listener
    async with ConcurrentTester(url, keep_body=True) as direct:
        reg = await direct.send(RequestSpec("POST", "/auth/register", json={"username": "a"}))
        auth = {"Authorization": f"Bearer {reg.json()['token']}"}
        with nginx_h2_front(url, tmp_path, self_signed if tls else None) as front:
            async with ConcurrentTester(
                front, mode="per-user", keep_body=True, sync="auto", h2c=not tls,
                ca_file=self_signed.cert_file,
            ) as tester:  # fmt: skip
                add = RequestSpec("POST", "/points/add", json={"amount": 2}, headers=auth)
                result = await tester.run_batch([add] * 10)
        balance = await direct.send(RequestSpec("GET", "/points/my-points", headers=auth))
    assert result.status_codes == {200: 10}, result.errors
    assert balance.json() == {"balance": 20, "transaction_count": 10}
    delivery = result.delivery
    assert delivery is not None
    assert (delivery.sync, delivery.protocol, delivery.connections) == ("single-packet", "h2", 1)
    assert delivery.released == 10
    assert delivery.arrivals == 10  # the reference target's stamps, through the proxy
    assert delivery.arrival_spread_s is not None
