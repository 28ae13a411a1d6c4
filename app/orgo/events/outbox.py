"""Domain events and the transactional outbox they are written to."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from orgo.models import OutboxEvent, Task, utcnow
from orgo.schemas import TaskOut


class EventType(StrEnum):
    task_created = "task.created"
    task_updated = "task.updated"
    task_deleted = "task.deleted"
    task_overdue = "task.overdue"


class TaskSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    title: str
    status: str
    owner_id: uuid.UUID
    assignee_id: uuid.UUID | None
    due_at: datetime | None


class EventEnvelope(BaseModel):
    """What travels on the broker: validated again by the worker before it is applied."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID
    event_type: EventType
    occurred_at: datetime
    actor_id: uuid.UUID | None
    task: TaskSnapshot
    changes: dict[str, Any]


# The outbox table, for statements that write events next to other rows (services/tasks.py).
OUTBOX = OutboxEvent.metadata.tables[OutboxEvent.__tablename__]
# One statement object for every event: its compiled form is cached once, and a Core insert
# skips the ORM's unit of work (about a third of a task write's CPU time).
INSERT_EVENT = insert(OUTBOX)


def outbox_row(
    event_type: EventType,
    task: Task | TaskOut,
    actor_id: uuid.UUID | None,
    changes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The outbox row of one event about a task: its envelope is what the relay publishes."""
    envelope = EventEnvelope(
        event_id=uuid.uuid4(),
        event_type=event_type,
        occurred_at=utcnow(),
        actor_id=actor_id,
        task=TaskSnapshot.model_validate(task, from_attributes=True),
        changes=changes or {},
    )
    return {
        "id": envelope.event_id,
        "event_type": event_type.value,
        "aggregate_id": envelope.task.id,
        "payload": envelope.model_dump(mode="json"),
        "created_at": envelope.occurred_at,
        "published_at": None,
    }


async def record_event(
    session: AsyncSession,
    event_type: EventType,
    task: Task | TaskOut,
    actor_id: uuid.UUID | None,
    changes: dict[str, Any] | None = None,
) -> None:
    """Writes the event in the session's transaction, so it commits (or not) with the change
    itself."""
    await session.execute(INSERT_EVENT, [outbox_row(event_type, task, actor_id, changes)])
