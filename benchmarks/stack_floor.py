"""The stack's floor: FastAPI endpoints that do the same I/O as the two measured Orgo
requests and nothing else (no authentication, access log, metrics, ORM or Redis gateway).

`floor_get` reads the cached task's JSON from Redis with one GET, as the Orgo API does;
`floor_post` validates the same body and writes a task and its outbox event with one asyncpg
statement, the Orgo API's single round trip. What they reach on a machine bounds what any
version of the Orgo API can reach there with this stack.

Served by uvicorn like the baseline; configured by FLOOR_DATABASE_URL (a libpq URL),
FLOOR_REDIS_URL, FLOOR_OWNER_ID (an existing user) and FLOOR_CACHE_KEY.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg  # type: ignore[import-untyped]
import redis.asyncio as redis
from fastapi import FastAPI, Response
from pydantic import BaseModel

INSERT_TASK_AND_EVENT = """
WITH new_task AS (
    INSERT INTO tasks (id, title, description, status, owner_id, created_at, updated_at)
    VALUES ($1, $2, $3, 'todo', $4, $5, $5)
)
INSERT INTO outbox_events (id, event_type, aggregate_id, payload, created_at)
VALUES ($6, 'task.created', $1, $7::json, $5)
"""


class TaskCreate(BaseModel):
    title: str
    description: str = ""


class TaskOut(BaseModel):
    id: uuid.UUID
    title: str
    description: str
    status: str
    owner_id: uuid.UUID
    created_at: datetime


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(
        os.environ["FLOOR_DATABASE_URL"], min_size=10, max_size=10
    )
    app.state.redis = redis.from_url(os.environ["FLOOR_REDIS_URL"])
    yield
    await app.state.redis.aclose()
    await app.state.pool.close()


app = FastAPI(lifespan=lifespan)
OWNER_ID = uuid.UUID(os.environ.get("FLOOR_OWNER_ID", str(uuid.UUID(int=0))))
CACHE_KEY = os.environ.get("FLOOR_CACHE_KEY", "")


@app.get("/cached")
async def cached() -> Response:
    return Response(await app.state.redis.get(CACHE_KEY), media_type="application/json")


@app.post("/tasks", status_code=201)
async def create(body: TaskCreate) -> Response:
    task = TaskOut(
        id=uuid.uuid4(),
        title=body.title,
        description=body.description,
        status="todo",
        owner_id=OWNER_ID,
        created_at=datetime.now(UTC),
    )
    payload = json.dumps({"task": task.model_dump(mode="json")})
    async with app.state.pool.acquire() as connection:
        await connection.execute(
            INSERT_TASK_AND_EVENT,
            task.id,
            task.title,
            task.description,
            OWNER_ID,
            task.created_at,
            uuid.uuid4(),
            payload,
        )
    return Response(task.model_dump_json(), status_code=201, media_type="application/json")
