"""Periodic jobs, each run once per interval across all worker replicas.

A job runs on the replica that moves its lease row forward: the conditional UPDATE
succeeds on exactly one of them per interval, on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

import logging
import socket
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orgo.core.db import transaction
from orgo.events.outbox import EventType, record_event
from orgo.models import JobLease, OutboxEvent, ProcessedEvent, Task, TaskStatus, utcnow

log = logging.getLogger(__name__)

HOLDER = f"{socket.gethostname()}"
OVERDUE_BATCH = 500


async def acquire_lease(
    sessions: async_sessionmaker[AsyncSession], job: str, interval: timedelta
) -> bool:
    """True when this replica won the job's run for the current interval."""
    now = utcnow()
    async with transaction(sessions) as session:
        won = await session.execute(
            update(JobLease)
            .where(JobLease.name == job, JobLease.last_run_at <= now - interval)
            .values(last_run_at=now, holder=HOLDER)
        )
        if won.rowcount == 1:  # type: ignore[attr-defined]
            return True
        if await session.get(JobLease, job) is not None:
            return False
        try:
            async with session.begin_nested():
                session.add(JobLease(name=job, last_run_at=now, holder=HOLDER))
        except IntegrityError:  # another replica created it first
            return False
        return True


async def clean_outbox(sessions: async_sessionmaker[AsyncSession], retention: timedelta) -> int:
    """Deletes published events and processed-event ids older than the retention."""
    cutoff = utcnow() - retention
    async with transaction(sessions) as session:
        removed = await session.execute(
            delete(OutboxEvent).where(OutboxEvent.published_at < cutoff)
        )
        await session.execute(delete(ProcessedEvent).where(ProcessedEvent.processed_at < cutoff))
    return int(removed.rowcount)  # type: ignore[attr-defined]


async def sweep_overdue(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Emits one task.overdue event per open task past its due date."""
    now = utcnow()
    async with transaction(sessions) as session:
        tasks = (
            await session.scalars(
                select(Task)
                .where(
                    Task.due_at < now,
                    Task.status.in_([TaskStatus.todo, TaskStatus.in_progress]),
                    Task.overdue_notified_at.is_(None),
                )
                .limit(OVERDUE_BATCH)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for task in tasks:
            task.overdue_notified_at = now
            await record_event(session, EventType.task_overdue, task, actor_id=None)
    return len(tasks)
