"""The worker's effect of one event: an activity entry and notifications, exactly once."""

from __future__ import annotations

import logging
import time
import uuid
from enum import StrEnum

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orgo.core.cache import TaskCache
from orgo.core.db import transaction
from orgo.core.logging import event_id_var, event_type_var
from orgo.core.metrics import EVENT_PROCESSING_DURATION, EVENTS_CONSUMED
from orgo.events.outbox import EventEnvelope
from orgo.models import Notification, ProcessedEvent, TaskActivity

log = logging.getLogger(__name__)


def one_line(value: object) -> str:
    """Any value as one line: every run of whitespace (line breaks of all kinds included)
    becomes one space. Titles can no longer hold line breaks; older rows still may."""
    return " ".join(str(value).split())


_templates = Environment(
    loader=PackageLoader("orgo", "templates/notifications"),
    autoescape=select_autoescape(default_for_string=False, default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.filters["one_line"] = one_line


class Outcome(StrEnum):
    processed = "processed"
    duplicate = "duplicate"


def _render(name: str, **values: object) -> tuple[str, str]:
    """Subject and body from the templates `name`.subject.j2 and `name`.body.j2: separate,
    so no text of the subject can end up in the body. The subject is one line, always."""
    subject = _templates.get_template(f"{name}.subject.j2").render(**values)
    body = _templates.get_template(f"{name}.body.j2").render(**values)
    return one_line(subject), body.strip()


def render_notification(event: EventEnvelope) -> tuple[str, str]:
    """Subject and body of the notification for an event."""
    return _render(event.event_type.value, event=event, task=event.task)


def render_unassigned(event: EventEnvelope) -> tuple[str, str]:
    """Subject and body for the assignee an update removed: the task by the title they
    knew, nothing of what the update changed."""
    title = event.changes.get("title", {}).get("from", event.task.title)
    return _render("task.unassigned", title=title)


def _recipients(event: EventEnvelope) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """Who is told about the event, and who only that they were unassigned: the assignee
    the change removed, who may no longer see the task and so not its new values."""
    told = {event.task.owner_id}
    if event.task.assignee_id is not None:
        told.add(event.task.assignee_id)
    unassigned = set()
    if previous := event.changes.get("assignee_id", {}).get("from"):
        unassigned.add(uuid.UUID(previous))
    # People are not notified of their own actions, except of deadlines.
    actor = {event.actor_id} if event.actor_id is not None else set()
    return told - actor, unassigned - told - actor


async def _claim(session: AsyncSession, event_id: uuid.UUID) -> bool:
    """Records the event as processed; False when another delivery already did."""
    try:
        async with session.begin_nested():
            session.add(ProcessedEvent(event_id=event_id))
    except IntegrityError:
        return False
    return True


async def apply_event(
    sessions: async_sessionmaker[AsyncSession], cache: TaskCache, event: EventEnvelope
) -> Outcome:
    told, unassigned = _recipients(event)
    notice = render_notification(event)
    messages = [(user_id, notice) for user_id in told]
    if unassigned:
        notice = render_unassigned(event)
        messages += [(user_id, notice) for user_id in unassigned]
    async with transaction(sessions) as session:
        if not await _claim(session, event.event_id):
            return Outcome.duplicate
        session.add(
            TaskActivity(
                task_id=event.task.id,
                event_id=event.event_id,
                event_type=event.event_type.value,
                actor_id=event.actor_id,
                details={"changes": event.changes, "status": event.task.status},
                created_at=event.occurred_at,
            )
        )
        for user_id, (subject, body) in messages:
            session.add(
                Notification(
                    user_id=user_id,
                    task_id=event.task.id,
                    event_id=event.event_id,
                    subject=subject,
                    body=body,
                )
            )
    # A second delete after the API's own: a read that raced the write may have cached the
    # old row after the API invalidated it; this bounds such staleness to the event's latency.
    await cache.invalidate(event.task.id)
    return Outcome.processed


async def apply_and_record(
    sessions: async_sessionmaker[AsyncSession], cache: TaskCache, event: EventEnvelope
) -> Outcome:
    """Applies the event with its id in every log line, counting and timing the outcome."""
    event_type = event.event_type.value
    event_id_var.set(str(event.event_id))
    event_type_var.set(event_type)
    started = time.perf_counter()
    outcome = await apply_event(sessions, cache, event)
    EVENTS_CONSUMED.labels(event_type, outcome.value).inc()
    EVENT_PROCESSING_DURATION.labels(event_type).observe(time.perf_counter() - started)
    log.info("event %s", outcome.value)
    return outcome
