"""Periodic jobs: one replica wins each interval; the sweep and clean-up do their work once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy import func, select, update

from orgo.core.db import transaction
from orgo.models import OutboxEvent, Task, TaskStatus, utcnow
from orgo.worker import jobs
from tests.app.conftest import Api


async def test_only_one_replica_wins_a_job_per_interval(api: Api) -> None:
    name = f"job-{uuid.uuid4().hex[:8]}"
    interval = timedelta(hours=1)
    sessions = api.state.sessions
    results = await asyncio.gather(
        *(jobs.acquire_lease(sessions, name, interval) for _ in range(8))
    )
    assert results.count(True) == 1
    assert not await jobs.acquire_lease(sessions, name, interval)
    # Once the interval has passed, the next run can be won again.
    assert await jobs.acquire_lease(sessions, name, timedelta(0))


async def _outbox_count(api: Api, event_type: str, task_id: uuid.UUID) -> int:
    async with api.state.sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.event_type == event_type, OutboxEvent.aggregate_id == task_id)
        )
    return int(count or 0)


async def test_overdue_sweep_emits_one_event_per_overdue_open_task(api: Api) -> None:
    user = await api.make_user()
    past = utcnow() - timedelta(days=1)
    async with transaction(api.state.sessions) as session:
        overdue = Task(title="late", owner_id=uuid.UUID(user["id"]), due_at=past)
        finished = Task(
            title="done late", owner_id=uuid.UUID(user["id"]), due_at=past, status=TaskStatus.done
        )
        session.add_all([overdue, finished])
    await jobs.sweep_overdue(api.state.sessions)
    await jobs.sweep_overdue(api.state.sessions)
    assert await _outbox_count(api, "task.overdue", overdue.id) == 1
    assert await _outbox_count(api, "task.overdue", finished.id) == 0


async def test_outbox_clean_up_removes_only_old_published_events(api: Api) -> None:
    user = await api.make_user()
    async with transaction(api.state.sessions) as session:
        task = Task(title="clean", owner_id=uuid.UUID(user["id"]))
        session.add(task)
    old, pending = uuid.uuid4(), uuid.uuid4()
    async with transaction(api.state.sessions) as session:
        for event_id, published in ((old, utcnow() - timedelta(days=30)), (pending, None)):
            session.add(
                OutboxEvent(
                    id=event_id,
                    event_type="task.updated",
                    aggregate_id=task.id,
                    payload={},
                    published_at=published,
                )
            )
    await jobs.clean_outbox(api.state.sessions, timedelta(days=7))
    async with api.state.sessions() as session:
        left = set(
            await session.scalars(select(OutboxEvent.id).where(OutboxEvent.aggregate_id == task.id))
        )
    assert old not in left
    assert pending in left
    async with transaction(api.state.sessions) as session:
        await session.execute(
            update(OutboxEvent).where(OutboxEvent.id == pending).values(published_at=utcnow())
        )
