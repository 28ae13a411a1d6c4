"""The outbox relay: hands committed events to the broker, marking each one published only
after the broker confirmed it. A crash in between re-sends the event, which the worker's
processed-event guard turns into a no-op.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orgo.core.db import transaction
from orgo.core.metrics import EVENTS_PUBLISHED
from orgo.models import OutboxEvent, utcnow

log = logging.getLogger(__name__)

# Publishes one event; raises when the broker did not confirm it.
Publish = Callable[[OutboxEvent], Awaitable[None]]


async def _publish_all(events: Sequence[OutboxEvent], publish: Publish) -> list[OutboxEvent]:
    results = await asyncio.gather(*(publish(event) for event in events), return_exceptions=True)
    confirmed = []
    for event, result in zip(events, results, strict=True):
        if isinstance(result, BaseException):
            EVENTS_PUBLISHED.labels("failure").inc()
            log.warning("publishing event %s failed: %s", event.id, type(result).__name__)
        else:
            EVENTS_PUBLISHED.labels("success").inc()
            confirmed.append(event)
    return confirmed


async def relay_once(
    sessions: async_sessionmaker[AsyncSession], publish: Publish, batch_size: int
) -> int:
    """Publishes one batch of pending events; returns how many were confirmed."""
    async with transaction(sessions) as session:
        # SKIP LOCKED lets several worker replicas relay side by side on PostgreSQL.
        pending = (
            await session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.published_at.is_(None))
                .order_by(OutboxEvent.created_at)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if not pending:
            return 0
        confirmed = await _publish_all(pending, publish)
        if confirmed:
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_([event.id for event in confirmed]))
                .values(published_at=utcnow())
            )
        return len(confirmed)


async def outbox_backlog(session: AsyncSession) -> tuple[int, datetime | None]:
    """How many events wait to be published, and when the oldest of them was written."""
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(OutboxEvent.created_at)).where(
                OutboxEvent.published_at.is_(None)
            )
        )
    ).one()
    if isinstance(oldest, str):  # SQLite returns aggregates of datetimes as text
        oldest = datetime.fromisoformat(oldest)
    return int(count), oldest


def event_body(event: OutboxEvent) -> bytes:
    return json.dumps(event.payload, separators=(",", ":")).encode()
