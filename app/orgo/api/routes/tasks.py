"""Tasks: create, read (through the cache), list, update and delete."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from orgo.api import API_PREFIX, BODY_ERRORS, Limit, Offset, links_from_id
from orgo.api.deps import CurrentUser, Session, State
from orgo.errors import NotFound
from orgo.models import TaskActivity, TaskStatus
from orgo.schemas import ActivityOut, Page, Problem, TaskCreate, TaskOut, TaskUpdate
from orgo.services import tasks as service

router = APIRouter(prefix=f"{API_PREFIX}/tasks", tags=["tasks"])

JSON = "application/json"
UNPROCESSABLE_TASK = (
    "A field is invalid (named in `loc`), including an `assignee_id` naming no user"
)
# The status moves an update may make, in the document itself (an OpenAPI extension on
# update_task): clients offer only these, from the one table the service enforces.
STATUS_TRANSITIONS = {
    current.value: sorted(wanted.value for wanted in allowed)
    for current, allowed in service.ALLOWED_TRANSITIONS.items()
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "No such task, or not visible to you"}
}


@router.post(
    "",
    response_model=TaskOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        201: {
            "description": "The task, created",
            "links": links_from_id(
                "task_id", "get_task", "update_task", "delete_task", "task_activity"
            ),
        },
        **BODY_ERRORS,
        422: {"model": Problem, "description": UNPROCESSABLE_TASK},
    },
    summary="Create a task (you are its owner)",
)
async def create_task(body: TaskCreate, user: CurrentUser, state: State) -> Response:
    task = await state.task_creator.create(user, body)
    # Serialised once here: FastAPI would validate the returned model against itself again.
    return Response(task.model_dump_json(), status.HTTP_201_CREATED, media_type=JSON)


@router.get(
    "", response_model=Page[TaskOut], summary="Tasks you own or are assigned (all, for admins)"
)
async def list_tasks(
    user: CurrentUser,
    session: Session,
    status_filter: Annotated[TaskStatus | None, Query(alias="status")] = None,
    assignee_id: uuid.UUID | None = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> Page[TaskOut]:
    rows, total = await service.list_tasks(session, user, status_filter, assignee_id, limit, offset)
    return Page[TaskOut](
        items=[TaskOut.model_validate(row) for row in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{task_id}", response_model=TaskOut, responses=NOT_FOUND)
async def get_task(task_id: uuid.UUID, user: CurrentUser, state: State) -> Response:
    lookup = await state.cache.get(task_id)
    if (cached := lookup.cached) is not None:
        # Owners and admins are served the copy with no database read: a task's owner never
        # changes and admins see everything. Anyone else may have lost access since the
        # copy was made (unassigned, or the task deleted): asked of the database.
        if not service.can_see_without_checking(user, cached.task):
            async with state.sessions() as session:
                if not await service.visible_now(session, user, task_id):
                    raise NotFound(f"task {task_id} not found")
        # The body is the cached JSON itself, not serialised again.
        return Response(cached.json, media_type=JSON)
    async with state.sessions() as session:
        task = TaskOut.model_validate(await service.load_visible(session, user, task_id))
    payload = task.model_dump_json()
    await state.cache.put(task_id, payload, lookup.version)
    return Response(payload, media_type=JSON)


@router.patch(
    "/{task_id}",
    response_model=TaskOut,
    responses={
        **NOT_FOUND,
        **BODY_ERRORS,
        409: {
            "model": Problem,
            "description": "A status move the workflow does not allow (the allowed moves "
            "from each status: x-orgo-status-transitions)",
        },
        422: {"model": Problem, "description": UNPROCESSABLE_TASK},
    },
    summary="Change the fields present in the body (null clears assignee or due date)",
    openapi_extra={"x-orgo-status-transitions": STATUS_TRANSITIONS},
)
async def update_task(
    task_id: uuid.UUID, body: TaskUpdate, user: CurrentUser, state: State, session: Session
) -> TaskOut:
    task = TaskOut.model_validate(await service.update_task(session, user, task_id, body))
    await session.commit()
    await state.cache.invalidate(task_id)
    return task


@router.delete(
    "/{task_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**NOT_FOUND, 403: {"model": Problem}},
)
async def delete_task(
    task_id: uuid.UUID, user: CurrentUser, state: State, session: Session
) -> None:
    await service.delete_task(session, user, task_id)
    await session.commit()
    await state.cache.invalidate(task_id)


@router.get(
    "/{task_id}/activity",
    response_model=list[ActivityOut],
    responses=NOT_FOUND,
    summary="What the worker recorded for the task, oldest first, a page at a time",
)
async def task_activity(
    task_id: uuid.UUID,
    user: CurrentUser,
    session: Session,
    # The largest page by default: a client that never paged still gets up to 100 entries.
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[TaskActivity]:
    return await service.task_activity(session, user, task_id, limit, offset)
