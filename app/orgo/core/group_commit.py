"""Group commit: concurrent writers of one statement share a transaction.

While one batch is in the database, the callers that arrive meanwhile gather into the next,
so a busy process sends one transaction for many rows (far less Python, driver and
PostgreSQL work per row) and an idle one sends each row at once, as before. Every caller
still returns only once its own row is committed.

A batch is one statement executed for many rows on an autocommit connection (asyncpg's
executemany): one round trip, and atomic, because asyncpg sends every row before a single
Sync, which PostgreSQL runs as one implicit transaction. When a batch fails nothing of it
was written, and its rows are tried again one at a time, so a bad row fails its own caller
only.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable

Row = dict[str, Any]


class GroupCommit:
    def __init__(self, engine: AsyncEngine, statement: Executable, max_rows: int) -> None:
        self._engine = engine
        self._statement = statement
        self._max_rows = max_rows
        self._waiting: list[tuple[Row, asyncio.Future[None]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def write(self, row: Row) -> None:
        """Returns once the row is committed; raises what writing it alone raised."""
        committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((row, committed))
        if self._drainer is None:
            self._drainer = asyncio.create_task(self._drain(), name="group-commit")
        await committed

    async def _drain(self) -> None:
        batch: list[tuple[Row, asyncio.Future[None]]] = []
        try:
            while self._waiting:
                batch = self._waiting[: self._max_rows]
                del self._waiting[: self._max_rows]
                await self._commit(batch)
        finally:
            self._drainer = None
            # Anything unsettled here means the drainer itself was cancelled (the process is
            # stopping): its callers must not wait forever.
            for _, committed in batch + self._waiting:
                committed.cancel()
            self._waiting.clear()

    async def _commit(self, batch: list[tuple[Row, asyncio.Future[None]]]) -> None:
        try:
            async with self._engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(self._statement, [row for row, _ in batch])
        except Exception as error:
            if len(batch) == 1:
                _settle(batch[0][1], error)
                return
            for item in batch:
                await self._commit([item])
            return
        for _, committed in batch:
            _settle(committed, None)


def _settle(committed: asyncio.Future[None], error: BaseException | None) -> None:
    if committed.done():  # its caller was cancelled
        return
    if error is None:
        committed.set_result(None)
    else:
        committed.set_exception(error)
