"""Database engine and sessions (SQLAlchemy 2 async): PostgreSQL via asyncpg, or SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from orgo.core.config import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    if settings.is_sqlite:
        return _sqlite_engine(settings)
    return create_async_engine(
        settings.database_url,
        # A hard cap per process: overflow connections would be opened and closed again
        # under every burst (a PostgreSQL backend fork each), costing a fifth of a write.
        pool_size=settings.database_pool_size,
        max_overflow=0,
        # No pre-ping (a round trip per checkout): a dropped connection fails its request
        # with a retryable 503 and SQLAlchemy then replaces every pooled connection.
        pool_timeout=settings.dependency_timeout_seconds * 5,
        connect_args={"timeout": settings.dependency_timeout_seconds * 3},
    )


def prepare_sqlite_file(database_url: str) -> None:
    """Creates the directory of a SQLite database file (the embedded default)."""
    if not database_url.startswith("sqlite"):
        return
    path = database_url.split(":///", 1)[1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)


def _sqlite_engine(settings: Settings) -> AsyncEngine:
    prepare_sqlite_file(settings.database_url)
    engine = create_async_engine(settings.database_url, connect_args={"timeout": 30})

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets the worker read while the API writes; foreign keys are off by default.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose work commits at the end of the block, or rolls back on error."""
    async with sessions() as session, session.begin():
        yield session
