"""Alembic migrations: they build exactly the tables the models describe, and 0002 keeps
every existing refresh-token family (started when its first token was issued)."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from orgo.migrations.runner import alembic_config, upgrade_to_head
from orgo.models import Base
from tests.app.conftest import make_settings
from tests.harness.services import PostgresServer


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
async def test_the_migrated_schema_is_the_models_schema(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.create_database(f"orgo_schema_{uuid.uuid4().hex[:8]}")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'orgo.db'}"
    await asyncio.to_thread(upgrade_to_head, make_settings(url))
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
    finally:
        await engine.dispose()
    assert differences == []


def test_0002_starts_each_family_at_its_first_token(tmp_path: Path) -> None:
    path = tmp_path / "orgo.db"
    settings = make_settings(f"sqlite+aiosqlite:///{path}")
    command.upgrade(alembic_config(settings), "0001")
    first = datetime(2026, 1, 1, tzinfo=UTC)
    family, user = uuid.uuid4().hex, uuid.uuid4().hex
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO users (id, email, password_hash, is_admin, is_active, created_at) "
            "VALUES (?, 'old@example.com', 'x', 0, 1, ?)",
            (user, first.isoformat()),
        )
        for day in (0, 10, 20):
            created = first + timedelta(days=day)
            db.execute(
                "INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    uuid.uuid4().hex,
                    family,
                    user,
                    uuid.uuid4().hex,
                    (created + timedelta(days=14)).isoformat(),
                    created.isoformat(),
                ),
            )
    upgrade_to_head(settings)
    with sqlite3.connect(path) as db:
        starts = {row[0] for row in db.execute("SELECT family_started_at FROM refresh_tokens")}
        versions = {row[0] for row in db.execute("SELECT token_version FROM users")}
    assert len(starts) == 1 and datetime.fromisoformat(starts.pop()) == first
    assert versions == {0}
