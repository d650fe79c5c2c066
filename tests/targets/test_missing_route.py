"""The reference profile against an implementation that lacks one of its routes: every scenario
that needs it is an error naming the operation and the route, none is judged failed."""

from __future__ import annotations

from monitor.reference import ReferenceServer
from monitor.suites.loading.loader import load_profile
from monitor.suites.loading.paths import builtin_profiles
from monitor.suites.run.runner import RunOptions, run_suites
from tests.suites.builtin import builtin
from tests.targets.common import scenario
from tests.targets.partial_server import partial_server

REFERENCE = load_profile(builtin_profiles()["reference"]).profile


async def test_a_route_the_target_does_not_know_is_an_error_naming_it_never_a_failure() -> None:
    suites = [
        builtin("oversubscription", "rewards-buy-more-than-affordable", "redeem-more-than-bought"),
        builtin("rewards", "concurrent-reward-redemption"),
    ]
    async with ReferenceServer() as reference, partial_server(reference.url) as url:
        run = await run_suites(url, REFERENCE, suites, RunOptions(seed=5))
    assert run.counts["failed"] == 0
    for name in ("rewards-buy-more-than-affordable", "redeem-more-than-bought"):
        sc = scenario(run, name)
        assert sc.status == "error", name
        messages = " ".join(c.message for c in sc.error_checks)
        assert "POST /rewards/buy" in messages, messages
        assert "404" in messages
        assert "profile" in messages
    # the one that does not buy (stock grants) is unaffected
    assert scenario(run, "concurrent-reward-redemption").status == "passed"
