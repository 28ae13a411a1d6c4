"""Task creation on PostgreSQL: concurrent creates share a transaction (group commit), every
caller returns only once its own row is committed, and a bad row fails its caller only."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from orgo.core.db import create_engine, create_sessionmaker, transaction
from orgo.core.security import Passwords
from orgo.migrations.runner import upgrade_to_head
from orgo.models import User
from orgo.schemas import TaskCreate
from orgo.services.tasks import CREATES_PER_COMMIT, TaskCreator
from orgo.services.users import Principal, create_user
from tests.app.conftest import make_settings
from tests.harness.services import PostgresServer


@pytest.fixture(scope="module")
async def engine(postgres: PostgresServer) -> AsyncIterator[AsyncEngine]:
    settings = make_settings(postgres.create_database(f"orgo_gc_{uuid.uuid4().hex[:8]}"))
    await asyncio.to_thread(upgrade_to_head, settings)
    database = create_engine(settings)
    async with transaction(create_sessionmaker(database)) as session:
        email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
        await create_user(session, email, Passwords(settings).hash("x" * 16), False)
    yield database
    await database.dispose()


@pytest.fixture(scope="module")
async def owner(engine: AsyncEngine) -> Principal:
    async with transaction(create_sessionmaker(engine)) as session:
        return Principal.of((await session.scalars(select(User))).one())


class Statements:
    """Every statement the engine sends, with how many rows it carried."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.rows: list[int] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._record)
        self._engine = engine

    def _record(self, *args: Any) -> None:
        statement, parameters, executemany = args[2], args[3], args[5]
        if statement.lstrip().upper().startswith("WITH"):  # the task-and-event insert
            self.rows.append(len(parameters) if executemany else 1)

    def close(self) -> None:
        event.remove(self._engine.sync_engine, "before_cursor_execute", self._record)


async def count(engine: AsyncEngine, sql: str, **params: Any) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text(sql), params)).scalar_one())


async def test_concurrent_creates_share_statements_and_all_commit(
    engine: AsyncEngine, owner: Principal
) -> None:
    creator = TaskCreator(engine)
    statements = Statements(engine)
    try:
        titles = [f"batch {i}" for i in range(3 * CREATES_PER_COMMIT)]
        tasks = await asyncio.gather(
            *(creator.create(owner, TaskCreate(title=title)) for title in titles)
        )
    finally:
        statements.close()
    assert sorted(t.title for t in tasks) == sorted(titles)
    assert sum(statements.rows) == len(titles)
    assert len(statements.rows) < len(titles) / 10  # batched, not one statement per task
    assert max(statements.rows) <= CREATES_PER_COMMIT
    ids = [str(t.id) for t in tasks]
    sql = "SELECT count(*) FROM tasks WHERE id = ANY(CAST(:ids AS uuid[]))"
    assert await count(engine, sql, ids=ids) == len(titles)
    events = "SELECT count(*) FROM outbox_events WHERE aggregate_id = ANY(CAST(:ids AS uuid[]))"
    assert await count(engine, events, ids=ids) == len(titles)


async def test_a_lone_create_is_committed_when_it_returns(
    engine: AsyncEngine, owner: Principal
) -> None:
    task = await TaskCreator(engine).create(owner, TaskCreate(title="alone"))
    assert await count(engine, "SELECT count(*) FROM tasks WHERE id = :id", id=task.id) == 1


async def test_a_bad_row_fails_its_own_caller_only(engine: AsyncEngine, owner: Principal) -> None:
    creator = TaskCreator(engine)
    ghost = Principal(uuid.uuid4(), "ghost@example.com", False, True, datetime.now(UTC), 0)
    callers = [owner] * 10 + [ghost] + [owner] * 10  # the ghost owns no row: a foreign key
    before = await count(engine, "SELECT count(*) FROM tasks")
    statements = Statements(engine)
    try:
        outcomes = await asyncio.gather(
            *(creator.create(u, TaskCreate(title=f"mixed {i}")) for i, u in enumerate(callers)),
            return_exceptions=True,
        )
    finally:
        statements.close()
    assert statements.rows == [21] + [1] * 21  # the batch failed, then each row alone
    assert isinstance(outcomes[10], IntegrityError)
    assert "owner_id" in str(outcomes[10])
    good = [o for i, o in enumerate(outcomes) if i != 10]
    assert not any(isinstance(o, BaseException) for o in good)
    # Each good row once (the failed batch left nothing behind), the bad one not at all.
    assert await count(engine, "SELECT count(*) FROM tasks") == before + 20
    assert await count(engine, "SELECT count(*) FROM tasks WHERE owner_id = :id", id=ghost.id) == 0
