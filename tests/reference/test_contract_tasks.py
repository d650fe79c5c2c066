"""Contract: tasks CRUD, ETag / If-Match, completion, deletion, ownership."""

from __future__ import annotations

import uuid
from datetime import datetime

import aiohttp

from tests.plugins.api import register

TASK_FIELDS = {
    "id", "user_id", "title", "description", "is_completed", "completed_at",
    "is_deleted", "version", "created_at", "updated_at",
}  # fmt: skip


def _parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, f"time without zone: {value}"
    assert parsed.utcoffset() is not None
    assert parsed.utcoffset().total_seconds() == 0, f"not UTC: {value}"  # type: ignore[union-attr]
    return parsed


async def test_create_get_and_list_tasks(
    any_db_reference_url: str, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, any_db_reference_url)
    r = await alice.post("/tasks", {"title": "write tests", "description": "all of them"})
    assert r.status == 201
    task = r.body
    assert set(task) == TASK_FIELDS
    uuid.UUID(task["id"])
    assert task["user_id"] == alice.user_id
    assert (task["title"], task["description"]) == ("write tests", "all of them")
    assert (task["is_completed"], task["completed_at"], task["is_deleted"]) == (False, None, False)
    assert isinstance(task["version"], int)
    _parse_time(task["created_at"])
    _parse_time(task["updated_at"])

    got = await alice.get(f"/tasks/{task['id']}")
    assert got.status == 200
    assert got.body == task
    assert got.headers["ETag"] == f'"{task["version"]}"'

    second = await alice.new_task("no description")
    listed = await alice.get("/tasks")
    assert listed.status == 200
    assert set(listed.body) == {"items"}
    assert {t["id"] for t in listed.body["items"]} == {task["id"], second["id"]}


async def test_title_length_and_body_validation(
    any_db_reference_url: str, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, any_db_reference_url)
    assert (await alice.post("/tasks", {"title": "x" * 200})).status == 201
    assert (await alice.post("/tasks", {"title": "x"})).status == 201
    for body in (
        {"title": "x" * 201},
        {"title": ""},
        {},
        {"title": 5},
        {"title": None},
        {"title": "ok", "description": 7},
    ):
        r = await alice.post("/tasks", body)
        assert (r.status, r.error()) == (422, "invalid_request"), body
    assert len((await alice.get("/tasks")).body["items"]) == 2


async def test_patch_bumps_version_and_honours_if_match(
    any_db_reference_url: str, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, any_db_reference_url)
    task = await alice.new_task("draft")
    v = task["version"]

    r = await alice.patch(
        f"/tasks/{task['id']}", {"title": "final"}, headers={"If-Match": f'"{v}"'}
    )
    assert r.status == 200
    assert (r.body["title"], r.body["version"]) == ("final", v + 1)
    assert r.body["description"] == task["description"]
    assert r.headers["ETag"] == f'"{v + 1}"'

    stale = await alice.patch(
        f"/tasks/{task['id']}", {"title": "lost"}, headers={"If-Match": f'"{v}"'}
    )
    assert (stale.status, stale.error()) == (412, "version_conflict")
    current = await alice.get(f"/tasks/{task['id']}")
    assert (current.body["title"], current.body["version"]) == ("final", v + 1)
    assert current.headers["ETag"] == f'"{v + 1}"'

    unconditional = await alice.patch(f"/tasks/{task['id']}", {"description": "notes"})
    assert unconditional.status == 200
    assert unconditional.body["version"] == v + 2
    assert unconditional.body["title"] == "final"
    assert unconditional.body["description"] == "notes"

    too_long = await alice.patch(f"/tasks/{task['id']}", {"title": "y" * 201})
    assert (too_long.status, too_long.error()) == (422, "invalid_request")


async def test_complete_is_idempotent(
    any_db_reference_url: str, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, any_db_reference_url)
    task = await alice.new_task()
    done = await alice.post(f"/tasks/{task['id']}/complete")
    assert done.status == 200
    assert done.body["is_completed"] is True
    completed_at = _parse_time(done.body["completed_at"])
    assert completed_at >= _parse_time(task["created_at"])

    again = await alice.post(f"/tasks/{task['id']}/complete")
    assert again.status == 200
    assert again.body == done.body  # changes nothing
    # Completing a task outside any Top3 earns nothing.
    assert (await alice.get("/points/my-points")).body["balance"] == 0


async def test_delete_hides_the_task_and_forbids_completion(
    any_db_reference_url: str, http: aiohttp.ClientSession
) -> None:
    alice = await register(http, any_db_reference_url)
    keep, gone = await alice.new_task("keep"), await alice.new_task("gone")
    r = await alice.delete(f"/tasks/{gone['id']}")
    assert r.status == 200
    assert r.body["is_deleted"] is True
    assert r.body["id"] == gone["id"]

    visible = await alice.get("/tasks")
    assert [t["id"] for t in visible.body["items"]] == [keep["id"]]
    explicit = await alice.get("/tasks", params={"include_deleted": "false"})
    assert [t["id"] for t in explicit.body["items"]] == [keep["id"]]
    everything = await alice.get("/tasks", params={"include_deleted": "true"})
    by_id = {t["id"]: t for t in everything.body["items"]}
    assert set(by_id) == {keep["id"], gone["id"]}
    assert by_id[gone["id"]]["is_deleted"] is True

    complete = await alice.post(f"/tasks/{gone['id']}/complete")
    assert (complete.status, complete.error()) == (404, "not_found")

    bad = await alice.get("/tasks", params={"include_deleted": "perhaps"})
    assert (bad.status, bad.error()) == (422, "invalid_request")


async def test_unknown_and_foreign_tasks_are_404(
    any_db_reference_url: str, http: aiohttp.ClientSession
) -> None:
    alice, mallory = (
        await register(http, any_db_reference_url),
        await register(http, any_db_reference_url),
    )
    task = await alice.new_task("private")
    for tid in (str(uuid.uuid4()), task["id"]):
        who = mallory
        for method, path, body in (
            ("GET", f"/tasks/{tid}", None),
            ("PATCH", f"/tasks/{tid}", {"title": "mine now"}),
            ("POST", f"/tasks/{tid}/complete", None),
            ("DELETE", f"/tasks/{tid}", None),
        ):
            r = await who.call(method, path, body)
            assert (r.status, r.error()) == (404, "not_found"), (method, path)
    assert (await mallory.get("/tasks")).body["items"] == []
    untouched = await alice.get(f"/tasks/{task['id']}")
    assert untouched.body == task
