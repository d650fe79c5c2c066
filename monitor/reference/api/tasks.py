"""Task endpoints (versions exposed as ETags; PATCH honours If-Match)."""

from __future__ import annotations

from collections.abc import Mapping

from monitor.reference.api.endpoint import Ctx, Endpoint, as_model
from monitor.reference.models import TaskCreateIn, TaskListOut, TaskOut, TaskPatchIn, TasksQuery
from monitor.reference.ops import tasks
from monitor.reference.ops.tasks import TaskRow


def parse_if_match(header: str | None) -> frozenset[int] | None:
    """Versions an ``If-Match`` header accepts; None when absent or ``*`` (any version).

    ``"3"``, ``W/"3"`` and ``3`` all mean version 3; an unparsable tag matches nothing.
    """
    if header is None or header.strip() == "*":
        return None
    versions = set()
    for raw in header.split(","):
        tag = raw.strip().removeprefix("W/").strip('"')
        if tag.isdigit():
            versions.add(int(tag))
    return frozenset(versions)


def _task(row: TaskRow) -> tuple[TaskOut, Mapping[str, str]]:
    task = as_model(TaskOut, row)
    return task, {"ETag": f'"{task.version}"'}


async def create(ctx: Ctx) -> tuple[TaskOut, Mapping[str, str]]:
    body = ctx.body_as(TaskCreateIn)
    row = await tasks.create_task(
        ctx.db, ctx.user_id, body.title, body.description, ctx.behaviour.new_task_id
    )
    return _task(row)


async def list_all(ctx: Ctx) -> TaskListOut:
    q = ctx.query_as(TasksQuery)
    rows = await tasks.list_tasks(ctx.db, ctx.user_id, q.include_deleted)
    return TaskListOut(items=[as_model(TaskOut, r) for r in rows])


async def get(ctx: Ctx) -> tuple[TaskOut, Mapping[str, str]]:
    return _task(await tasks.get_task(ctx.db, ctx.user_id, ctx.path_id()))


async def patch(ctx: Ctx) -> tuple[TaskOut, Mapping[str, str]]:
    body = ctx.body_as(TaskPatchIn)
    task_id = ctx.path_id()
    if_match = parse_if_match(ctx.request.headers.get("If-Match"))
    if not ctx.behaviour.honour_if_match:
        if_match = None
    changes = body.model_dump(exclude_unset=True)
    if changes.get("title", "") is None:
        changes.pop("title")  # title cannot be cleared
    row = await tasks.patch_task(ctx.db, ctx.user_id, task_id, changes, if_match)
    return _task(row)


async def complete(ctx: Ctx) -> tuple[TaskOut, Mapping[str, str]]:
    return _task(await ctx.behaviour.complete_task(ctx.db, ctx.user_id, ctx.path_id()))


async def delete(ctx: Ctx) -> tuple[TaskOut, Mapping[str, str]]:
    return _task(await tasks.delete_task(ctx.db, ctx.user_id, ctx.path_id()))


_ETAG = ("ETag",)
ENDPOINTS = (
    Endpoint(
        "POST",
        "/tasks",
        create,
        "Create a task.",
        status=201,
        response=TaskOut,
        body=TaskCreateIn,
        headers=_ETAG,
    ),
    Endpoint(
        "GET",
        "/tasks",
        list_all,
        "The caller's tasks (deleted ones only with include_deleted=true).",
        response=TaskListOut,
        query=TasksQuery,
    ),
    Endpoint(
        "GET",
        "/tasks/{id}",
        get,
        "One task; the ETag header carries its version.",
        response=TaskOut,
        errors=(404,),
        headers=_ETAG,
    ),
    Endpoint(
        "PATCH",
        "/tasks/{id}",
        patch,
        'Update title / description; with If-Match: "<version>" only if the version matches.',
        response=TaskOut,
        body=TaskPatchIn,
        errors=(404, 412),
        headers=_ETAG,
    ),
    Endpoint(
        "POST",
        "/tasks/{id}/complete",
        complete,
        "Complete a task (idempotent); a Top3 task earns 100 points once.",
        response=TaskOut,
        errors=(404,),
        headers=_ETAG,
    ),
    Endpoint(
        "DELETE",
        "/tasks/{id}",
        delete,
        "Mark a task deleted.",
        response=TaskOut,
        errors=(404,),
        headers=_ETAG,
    ),
)
