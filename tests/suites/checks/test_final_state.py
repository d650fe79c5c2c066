"""Per-key final-state checkers: idempotent_effect (phantom successes) and last_write_wins."""

from __future__ import annotations

from tests.suites.checks.builders import Ops, mentions


def unfavorites(ok: int, refused: int, unknown: int = 0) -> Ops:
    ops = Ops()
    ops.many(ok, "favorites.remove")
    ops.many(refused, "favorites.remove", outcome="failed", code="not_favorited", status=409)
    ops.many(unknown, "favorites.remove", outcome="unknown", code="server_error", status=500)
    return ops


EFFECT = {"kind": "favorites.remove", "effects": "state.before - state.after"}


def test_one_effect_one_ok_passes() -> None:
    assert unfavorites(1, 4).check("idempotent_effect", {"before": 1, "after": 0}, **EFFECT).passed


def test_ok_answers_beyond_the_effects_are_phantom_successes() -> None:
    ops = unfavorites(5, 0)
    r = ops.check("idempotent_effect", {"before": 1, "after": 0}, **EFFECT)
    assert not r.passed
    assert r.message == "4 phantom successes"
    assert "5 ok answers claim an effect, 1 happened" in r.observed
    assert mentions(r, *ops.ops)


def test_duplicate_effects_and_lost_effects() -> None:
    r = unfavorites(1, 0).check("idempotent_effect", {"before": 3, "after": 1}, **EFFECT)
    assert not r.passed
    assert "2 effects from 1 identical request" in r.observed
    r = unfavorites(1, 4).check("idempotent_effect", {"before": 1, "after": 1}, **EFFECT)
    assert not r.passed
    assert r.observed == "1 phantom success: 1 ok answer claims an effect, 0 happened"
    r = unfavorites(1, 4).check(
        "idempotent_effect", {"before": 1, "after": 1}, **EFFECT, ok_claims_effect=False
    )
    assert not r.passed
    assert "1 ok but no effect" in r.observed
    r = unfavorites(0, 5).check("idempotent_effect", {"before": 1, "after": 0}, **EFFECT)
    assert not r.passed
    assert "an effect although every request failed" in r.observed


def test_unknown_ops_may_explain_an_effect() -> None:
    ops = unfavorites(0, 4, unknown=1)
    assert ops.check("idempotent_effect", {"before": 1, "after": 0}, **EFFECT).passed
    assert ops.check("idempotent_effect", {"before": 1, "after": 1}, **EFFECT).passed


def test_state_reporting_answers_are_not_phantoms_and_keys_group_requests() -> None:
    ops = Ops()
    for user in ("alice", "bob"):
        ops.many(3, "profiles.follow", user=user, args={"username": "carol"})
    args = {"kind": "profiles.follow", "effects": "state.rows", "key": "user"}
    state = {"rows": {"alice": 1, "bob": 1}}
    assert ops.check("idempotent_effect", state, **args, ok_claims_effect=False).passed
    r = ops.check("idempotent_effect", {"rows": {"alice": 1, "bob": 2}}, **args,
                  ok_claims_effect=False)  # fmt: skip
    assert not r.passed
    assert r.observed == "bob: 2 effects from 3 identical requests"
    r = ops.check("idempotent_effect", {"rows": {"alice": 1}}, **args)
    assert not r.passed
    assert "no entry for key 'bob'" in r.message  # evaluation problem, named


def toggles() -> Ops:
    ops = Ops()
    ops.add("favorites.add", user="fans[0]", at=0.0)  # phase 1
    ops.add("favorites.add", user="fans[1]", at=0.0)
    ops.add("favorites.remove", user="fans[0]", at=1.0)  # phase 2: concurrent pair
    ops.add("favorites.add", user="fans[0]", at=1.0, outcome="failed", code="already_favorited")
    ops.add("favorites.remove", user="fans[1]", at=1.0)
    ops.add("favorites.add", user="fans[1]", at=1.001)
    return ops


LWW = {
    "kind": ["favorites.add", "favorites.remove"],
    "key": "user",
    "written": "kind == 'favorites.add'",
    "final": "state.views",
    "value": "item.favorited",
}


def test_last_write_wins_per_key() -> None:
    views = {"fans[0]": {"favorited": False}, "fans[1]": {"favorited": True}}
    assert toggles().check("last_write_wins", {"views": views}, **LWW).passed
    # fans[1]'s remove and add overlap: either may be last
    views["fans[1]"] = {"favorited": False}
    assert toggles().check("last_write_wins", {"views": views}, **LWW).passed
    # fans[0]'s only successful write of phase 2 is the remove: true is an older value
    views["fans[0]"] = {"favorited": True}
    r = toggles().check("last_write_wins", {"views": views}, **LWW)
    assert not r.passed
    assert r.message == "fans[0]: read back true, a last write left false"


def test_last_write_wins_unknown_writes_may_be_last_and_initial_value() -> None:
    ops = Ops()
    ops.add("flag.set", args={"to": 1}, at=0.0)
    ops.add("flag.set", args={"to": 2}, at=1.0, outcome="unknown", code="server_error", status=500)
    args = {"kind": "flag.set", "written": "args.to", "final": "state.flag"}
    assert ops.check("last_write_wins", {"flag": 1}, **args).passed
    assert ops.check("last_write_wins", {"flag": 2}, **args).passed
    assert not ops.check("last_write_wins", {"flag": 0}, **args).passed
    never = Ops()
    never.add("flag.set", args={"to": 1}, outcome="failed", code="invalid_request", status=422)
    assert never.check("last_write_wins", {"flag": 0}, **args, initial=0).passed
    assert not never.check("last_write_wins", {"flag": 1}, **args, initial=0).passed


def test_cel_counts_a_domain_outcome_that_never_came_as_zero() -> None:
    from monitor.suites.checks import CheckContext, run_check

    ops = unfavorites(5, 0)  # the phantom-success service: no not_favorited at all
    expr = 'ops["favorites.remove"].codes.not_favorited == 4'
    bare = run_check("cel", CheckContext.build(ops.ops), {"expr": expr})
    assert bare.status == "error"  # without the profile's names: cannot be evaluated
    ctx = CheckContext.build(ops.ops, outcomes=["not_favorited"], operations=["favorites.add"])
    r = run_check("cel", ctx, {"expr": expr})
    assert r.status == "failed", r
    r = run_check("cel", ctx, {"expr": 'ops["favorites.add"].total == 0'})
    assert r.passed, r
