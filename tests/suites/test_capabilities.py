"""Capabilities: scenarios and checks declare needs, profiles provide; unmet needs are not
applicable with the reason (never a failure), and target metrics are mapped by the profile."""

from __future__ import annotations

from typing import Any

from monitor.reference import ReferenceServer
from monitor.suites.loading.loader import load_profile, load_suite
from monitor.suites.loading.paths import builtin_profiles, builtin_suites
from monitor.suites.profile.capabilities import Capabilities, scenario_unmet
from monitor.suites.profile.models import Profile
from monitor.suites.profile.outcomes import parse_prometheus
from monitor.suites.run.runner import RunOptions, run_suites
from monitor.suites.suite.models import Needs
from tests.suites.builtin import builtin

REFERENCE = load_profile(builtin_profiles()["reference"]).profile


def _profile(**changes: Any) -> Profile:
    raw = REFERENCE.model_dump(exclude_defaults=True)
    raw.update(changes)
    return Profile.model_validate(raw)


def test_unmet_needs_are_named_in_words() -> None:
    caps = Capabilities.of(
        _profile(provides={"fields": {"tasks.version": False}, "operations": {"points.add": False}})
    )
    needs = Needs(
        operations=["giftcards.buy", "points.add", "points.balance"],
        fields=["tasks.version", "tasks.title"],
        metrics=["db_pool_size", "made_up_metric"],
    )
    assert caps.unmet(needs) == [
        "operation giftcards.buy",
        "operation points.add",
        "result field tasks.version",
        "target metric made_up_metric",
    ]
    assert "does not provide operation giftcards.buy, operation points.add" in caps.reason(
        caps.unmet(needs)
    )
    # without target.metrics no metric is provided, whatever `metrics` maps
    ops = dict(REFERENCE.model_dump(exclude_defaults=True)["operations"])
    del ops["target.metrics"]
    bare = Capabilities.of(_profile(operations=ops))
    assert bare.unmet(Needs(metrics=["db_pool_size"])) == ["target metric db_pool_size"]


def test_optional_steps_are_not_needs() -> None:
    load = load_suite(builtin_suites()["load"]).suite
    sustained = next(s for s in load.scenarios if s.name == "sustained-load")
    ops = dict(REFERENCE.model_dump(exclude_defaults=True)["operations"])
    del ops["target.metrics"]
    assert scenario_unmet(Capabilities.of(_profile(operations=ops)), sustained) == []


async def test_a_service_without_versions_or_owner_ids_is_not_applicable_not_failed() -> None:
    profile = _profile(
        provides={"fields": {"tasks.version": False, "tasks.user_id": False}},
    )
    suites = [
        builtin("isolation", "optimistic-locking"),
        builtin("tasks", "concurrent-task-creation"),
    ]
    async with ReferenceServer() as server:
        run = await run_suites(server.url, profile, suites, RunOptions(seed=3))
    by_name = {s.name: s for s in run.scenarios}
    locking = by_name["optimistic-locking"]
    assert locking.status == "skipped"
    assert locking.skip_reason == (
        "profile 'reference' does not provide result field tasks.version"
    )
    creation = by_name["concurrent-task-creation"]
    assert creation.status == "passed"  # the other checks ran and held
    (na,) = creation.not_applicable_checks
    assert na.name == "all 10 tasks are the user's"
    assert na.message == "profile 'reference' does not provide result field tasks.user_id"
    assert run.passed


def test_metrics_are_mapped_by_series_and_labels_with_any_prefix() -> None:
    text = "\n".join(
        [
            "# TYPE shop_pool_connections gauge",
            'shop_pool_connections{pool="main",state="busy"} 3',
            'shop_pool_connections{pool="main",state="idle"} 7',
            'shop_pool_connections{pool="audit",state="busy"} 1',
            "# TYPE process_resident_memory_bytes gauge",
            "process_resident_memory_bytes 1.5e+07",
        ]
    )
    values = parse_prometheus(
        text,
        {
            "db_pool_in_use": ("shop_pool_connections", {"pool": "main", "state": "busy"}),
            "db_pool_size": ("shop_pool_connections", {"pool": "main"}),
            "rss_bytes": ("process_resident_memory_bytes", {}),
            "db_pool_waiting": ("shop_pool_waiting", {}),
        },
    )
    assert values["db_pool_in_use"] == 3
    assert values["db_pool_size"] == 10
    assert values["rss_bytes"] == 1.5e7
    assert "db_pool_waiting" not in values  # no such series: the check errors naming it
    assert values["shop_pool_connections"] == 11  # raw sums stay available


def test_missing_result_fields_are_inferred_from_the_extractions() -> None:
    shop = load_profile(builtin_profiles()["shop-example"]).profile
    caps = Capabilities.of(shop)
    fields = ["tasks.version", "tasks.user_id", "points.transaction_count", "tasks.title"]
    say = "`provides: {{fields: {{{0}: true}}}}` says otherwise"
    assert caps.unmet(Needs(fields=fields)) == [  # the reason says it was inferred, and how
        "result field points.transaction_count (inferred: no points.* extraction builds a "
        f"transaction_count key; {say.format('points.transaction_count')})",
        "result field tasks.user_id (inferred: no tasks.* extraction builds a user_id key; "
        f"{say.format('tasks.user_id')})",
        "result field tasks.version (inferred: no tasks.* extraction builds a version key; "
        f"{say.format('tasks.version')})",
    ]
    # the reference extracts whole task bodies: nothing can be inferred missing there
    assert Capabilities.of(REFERENCE).unmet(Needs(fields=fields)) == []
    # a declaration wins over the inference
    raw = shop.model_dump(exclude_defaults=True)
    raw["provides"] = {"fields": {"tasks.version": True}}
    declared = Capabilities.of(Profile.model_validate(raw))
    assert not any("tasks.version" in u for u in declared.unmet(Needs(fields=fields)))


def test_listing_deleted_tasks_is_inferred_from_the_include_deleted_argument() -> None:
    needs = Needs(fields=["tasks.list_deleted"])
    assert Capabilities.of(REFERENCE).unmet(needs) == []  # its tasks.list passes it on
    raw = REFERENCE.model_dump(exclude_defaults=True)
    raw["operations"]["tasks.list"].pop("query")
    (unmet,) = Capabilities.of(Profile.model_validate(raw)).unmet(needs)
    assert unmet.startswith(
        "result field tasks.list_deleted (inferred: the profile's tasks.list never uses its "
        "include_deleted argument;"
    )
