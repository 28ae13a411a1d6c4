"""Tasks: an organisation's work items. Every change writes its outbox event in the same
transaction, and the cached copy is dropped once the change is committed."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from orgo.core.group_commit import GroupCommit
from orgo.errors import Conflict, Forbidden, InvalidField, NotFound
from orgo.events.outbox import INSERT_EVENT, OUTBOX, EventType, outbox_row, record_event
from orgo.models import Task, TaskActivity, TaskStatus, User, utcnow
from orgo.schemas import TaskCreate, TaskOut, TaskUpdate
from orgo.services.users import Principal

ALLOWED_TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.todo: frozenset({TaskStatus.in_progress, TaskStatus.cancelled}),
    TaskStatus.in_progress: frozenset({TaskStatus.todo, TaskStatus.done, TaskStatus.cancelled}),
    TaskStatus.done: frozenset({TaskStatus.in_progress}),
    TaskStatus.cancelled: frozenset({TaskStatus.todo}),
}


def _may_see(user: Principal, owner_id: uuid.UUID, assignee_id: uuid.UUID | None) -> bool:
    return user.is_admin or user.id in (owner_id, assignee_id)


def can_see(user: Principal, task: TaskOut | Task) -> bool:
    return _may_see(user, task.owner_id, task.assignee_id)


def can_see_without_checking(user: Principal, task: TaskOut) -> bool:
    """True when no change since `task` was read can have taken the user's access away:
    admins see every task and a task's owner never changes (a deleted task's copy shows
    its owner only what they could see anyway)."""
    return user.is_admin or user.id == task.owner_id


async def visible_now(session: AsyncSession, user: Principal, task_id: uuid.UUID) -> bool:
    """Whether the task exists and the user may see it, from one primary-key read."""
    row = (
        await session.execute(select(Task.owner_id, Task.assignee_id).where(Task.id == task_id))
    ).one_or_none()
    return row is not None and _may_see(user, row.owner_id, row.assignee_id)


def _visible_to(user: Principal) -> ColumnElement[bool] | None:
    if user.is_admin:
        return None
    return or_(Task.owner_id == user.id, Task.assignee_id == user.id)


async def _check_assignee(
    database: AsyncSession | AsyncConnection, assignee_id: uuid.UUID | None
) -> None:
    if assignee_id is None:
        return
    if await database.scalar(select(User.id).where(User.id == assignee_id)) is None:
        raise InvalidField("assignee_id", f"no user with id {assignee_id}")


async def load_visible(session: AsyncSession, user: Principal, task_id: uuid.UUID) -> Task:
    """The task, or NotFound when it does not exist or the user may not see it."""
    task = await session.get(Task, task_id)
    if task is None or not can_see(user, task):
        raise NotFound(f"task {task_id} not found")
    return task


# Creating is the hot write path: Core inserts through cached statements, no ORM unit of work
# for an object nobody reads back. On PostgreSQL the task and its event are one statement (a
# data-modifying CTE), and concurrent creates share a transaction (group commit): one round
# trip per batch, and a create alone is that one statement on an autocommit connection.
# SQLite has no DML in CTEs, so there a create is one transaction of two inserts.
_TASKS = Task.metadata.tables[Task.__tablename__]
_INSERT_TASK = insert(_TASKS)
_EVENT_PREFIX = "event_"
_INSERT_TASK_AND_EVENT = (
    insert(OUTBOX)
    .values({column.name: bindparam(_EVENT_PREFIX + column.name) for column in OUTBOX.c})
    .add_cte(insert(_TASKS).values({name: bindparam(name) for name in TaskOut.model_fields}).cte())
)


# Bounds a group commit's transaction (and the wait of its last caller).
CREATES_PER_COMMIT = 100


class TaskCreator:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._group = (
            GroupCommit(engine, _INSERT_TASK_AND_EVENT, CREATES_PER_COMMIT)
            if engine.dialect.name == "postgresql"
            else None
        )

    async def create(self, user: Principal, data: TaskCreate) -> TaskOut:
        now = utcnow()
        task = TaskOut(
            id=uuid.uuid4(),
            title=data.title,
            description=data.description,
            status=TaskStatus.todo,
            owner_id=user.id,
            assignee_id=data.assignee_id,
            due_at=data.due_at,
            created_at=now,
            updated_at=now,
        )
        event = outbox_row(EventType.task_created, task, actor_id=user.id)
        if self._group is None:
            async with self._engine.begin() as connection:
                await _check_assignee(connection, data.assignee_id)
                await connection.execute(_INSERT_TASK, [task.model_dump()])
                await connection.execute(INSERT_EVENT, [event])
            return task
        if data.assignee_id is not None:
            async with self._engine.connect() as connection:
                await _check_assignee(connection, data.assignee_id)
        await self._group.write(
            task.model_dump() | {_EVENT_PREFIX + key: value for key, value in event.items()}
        )
        return task


def _check_transition(current: TaskStatus, wanted: TaskStatus) -> None:
    if wanted != current and wanted not in ALLOWED_TRANSITIONS[current]:
        allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[current]))
        raise Conflict(
            f"status: cannot move a task from {current} to {wanted}; "
            f"allowed from {current}: {allowed}"
        )


async def update_task(
    session: AsyncSession, user: Principal, task_id: uuid.UUID, data: TaskUpdate
) -> Task:
    task = await load_visible(session, user, task_id)
    fields = data.model_dump(exclude_unset=True)
    if "status" in fields:
        _check_transition(TaskStatus(task.status), fields["status"])
    if "assignee_id" in fields:
        await _check_assignee(session, fields["assignee_id"])
    changes: dict[str, Any] = {}
    for field, value in fields.items():
        before = getattr(task, field)
        if before != value:
            changes[field] = {"from": _plain(before), "to": _plain(value)}
            setattr(task, field, value)
    if changes:
        if "due_at" in changes or "status" in changes:
            task.overdue_notified_at = None
        task.updated_at = utcnow()
        await record_event(session, EventType.task_updated, task, actor_id=user.id, changes=changes)
    return task


async def delete_task(session: AsyncSession, user: Principal, task_id: uuid.UUID) -> None:
    task = await load_visible(session, user, task_id)
    if not (user.is_admin or task.owner_id == user.id):
        raise Forbidden("only the task's owner or an admin may delete it")
    await record_event(session, EventType.task_deleted, task, actor_id=user.id)
    await session.delete(task)


async def list_tasks(
    session: AsyncSession,
    user: Principal,
    status: TaskStatus | None,
    assignee_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> tuple[list[Task], int]:
    filters = [
        condition
        for condition in (
            _visible_to(user),
            Task.status == status if status is not None else None,
            Task.assignee_id == assignee_id if assignee_id is not None else None,
        )
        if condition is not None
    ]
    total = await session.scalar(select(func.count()).select_from(Task).where(*filters))
    rows = await session.scalars(
        select(Task)
        .where(*filters)
        .order_by(Task.created_at.desc(), Task.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total or 0)


async def task_activity(
    session: AsyncSession, user: Principal, task_id: uuid.UUID, limit: int, offset: int
) -> list[TaskActivity]:
    await load_visible(session, user, task_id)
    rows = await session.scalars(
        select(TaskActivity)
        .where(TaskActivity.task_id == task_id)
        .order_by(TaskActivity.created_at, TaskActivity.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows)


def _plain(value: Any) -> Any:
    """JSON-friendly form of a field value for the event's `changes`."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
