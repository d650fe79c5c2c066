"""An RPC API whose server errors hide in HTTP 200 envelopes (``{"code": 500}``), and that
commits before answering them: the profile declares the body code a server error, the safety net
sees it, and setup still reaches its state by reading back what the lying answers did."""

from __future__ import annotations

from monitor.report.console import render_summary
from monitor.suites.run.runner import RunOptions, run_suites
from tests.suites.builtin import builtin, problems
from tests.targets.common import profile, scenario
from tests.targets.rpc_server import rpc_server

RPC = profile("rpc")
AUTOMATIC = "no server errors (automatic)"


def _suites() -> list:  # type: ignore[type-arg]
    return [
        builtin("rewards", "concurrent-reward-redemption"),
        builtin("oversubscription", "rewards-buy-more-than-affordable"),
    ]


async def test_an_honest_rpc_service_passes() -> None:
    async with rpc_server() as url:
        run = await run_suites(url, RPC, _suites(), RunOptions(seed=3))
    assert problems(run) == []
    assert [s.status for s in run.scenarios] == ["passed"] * 2


async def test_enveloped_500s_fail_the_automatic_verdict_and_setup_reads_back_through_them() -> (
    None
):
    async with rpc_server(lie=True) as url:
        run = await run_suites(url, RPC, _suites(), RunOptions(seed=3))
    # stocking bought the coupons through purchases that answered {"code": 500} after saving,
    # funded by task completions that answered the same: read back, both worked
    redemption = scenario(run, "concurrent-reward-redemption")
    assert redemption.status == "passed", problems(run)
    assert redemption.state["stocked"] == {"reward": "coupon", "quantity": 5}
    # the purchases of the phase are server errors in envelopes: the automatic verdict fails
    buy = scenario(run, "rewards-buy-more-than-affordable")
    assert buy.status == "failed"
    (auto,) = [c for c in buy.checks if c.name == AUTOMATIC]
    assert auto.status == "failed"
    assert auto.observed.startswith("2 server errors")
    assert buy.state["funded"]["balance"] >= 400  # completions paid though they "failed"
    # the evidence shows the envelope the target answered
    assert any('"code":500' in line and "NullPointerException" in line for line in auto.evidence)
    assert buy.server_errors == {"200 server_error": 2}
    # outcome counts keep server errors apart from refusals and successes
    assert buy.outcomes["rewards.buy"] == {"server_error": 2, "insufficient_points": 4}
    # the latency plot draws them as errors, though their HTTP status is 200
    red = [t for t in buy.timeline if not t.ok]
    assert [(t.operation, t.status) for t in red] == [("rewards.buy", 200)] * 2
    out = render_summary(run)
    assert "(2 server errors)" in out


async def test_a_setup_step_whose_effect_did_not_happen_still_errors() -> None:
    """Read-back decides: a purchase the target refused (not enough coins) is not stocked."""
    suite = builtin("rewards", "concurrent-reward-redemption")
    poor = RPC.model_copy(update={"params": {**RPC.params, "reward_price": 10}})  # too cheap
    async with rpc_server(lie=True) as url:
        run = await run_suites(url, poor, [suite], RunOptions(seed=3))
    (sc,) = run.scenarios
    assert sc.status == "error"
    (setup,) = sc.error_checks
    assert "stock" in setup.message
    assert "rewards.buy: got insufficient_points" in setup.message
