"""Domain events and the transactional outbox they are written to."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from orgo.models import OutboxEvent, Task, utcnow


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


def record_event(
    session: AsyncSession,
    event_type: EventType,
    task: Task,
    actor_id: uuid.UUID | None,
    changes: dict[str, Any] | None = None,
) -> OutboxEvent:
    """Adds the event to the session, so it commits (or not) with the change itself."""
    envelope = EventEnvelope(
        event_id=uuid.uuid4(),
        event_type=event_type,
        occurred_at=utcnow(),
        actor_id=actor_id,
        task=TaskSnapshot.model_validate(task, from_attributes=True),
        changes=changes or {},
    )
    row = OutboxEvent(
        id=envelope.event_id,
        event_type=event_type.value,
        aggregate_id=task.id,
        payload=envelope.model_dump(mode="json"),
        created_at=envelope.occurred_at,
    )
    session.add(row)
    return row
