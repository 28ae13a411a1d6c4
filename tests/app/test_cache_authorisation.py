"""The task cache cannot serve what a write took away, on real PostgreSQL and Redis.

Interleavings are forced with events, not timing: a reader is held between its database
read and its cache write while an update commits and invalidates.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import event

from orgo.core.cache import TaskCache
from orgo.core.redis import COOL_DOWN_SECONDS, RedisUnavailable
from orgo.migrations.runner import upgrade_to_head
from orgo.services import tasks as service
from tests.app.conftest import Api, make_settings, running_api
from tests.harness.services import PostgresServer, RedisServer


@pytest.fixture(scope="module")
async def api(postgres: PostgresServer, redis_server: RedisServer) -> AsyncIterator[Api]:
    settings = make_settings(postgres.url, redis_server.url)
    await asyncio.to_thread(upgrade_to_head, settings)
    async with running_api(settings) as running:
        yield running


async def new_task(api: Api, headers: dict[str, str], **fields: Any) -> str:
    created = await api.client.post(
        "/api/v1/tasks", json={"title": "v1", **fields}, headers=headers
    )
    assert created.status_code == 201, created.text
    task_id: str = created.json()["id"]
    return task_id


async def test_a_read_that_raced_an_update_cannot_store_the_old_row(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, headers = await api.user_headers()
    task_id = await new_task(api, headers)
    url = f"/api/v1/tasks/{task_id}"
    read_done, go_on = asyncio.Event(), asyncio.Event()
    real = service.load_visible

    async def held_after_reading(*args: Any) -> Any:
        row = await real(*args)
        if not read_done.is_set():  # only the racing reader; the update's own read runs on
            read_done.set()
            await go_on.wait()
        return row

    monkeypatch.setattr(service, "load_visible", held_after_reading)
    reader = asyncio.create_task(api.client.get(url, headers=headers))
    await read_done.wait()  # the reader has the old row from the database (a cache miss)
    updated = await api.client.patch(url, json={"title": "v2"}, headers=headers)
    assert updated.status_code == 200  # committed and invalidated
    go_on.set()
    assert (await reader).json()["title"] == "v1"  # what it read, before the update
    # ...and it could not leave that old row cached:
    assert (await api.client.get(url, headers=headers)).json()["title"] == "v2"


async def failing_invalidation(_task_id: uuid.UUID) -> None:
    """As if Redis had refused the delete."""


async def test_a_removed_assignee_gets_404_even_when_the_invalidation_failed(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, owner = await api.user_headers()
    assignee, assignee_headers = await api.user_headers()
    other = await api.make_user()
    reassigned = await new_task(api, owner, assignee_id=assignee["id"])
    deleted = await new_task(api, owner, assignee_id=assignee["id"])
    for task_id in (reassigned, deleted):
        for _ in range(2):  # the second read is served from the cached copy
            read = await api.client.get(f"/api/v1/tasks/{task_id}", headers=assignee_headers)
            assert read.status_code == 200

    monkeypatch.setattr(api.state.cache, "invalidate", failing_invalidation)
    moved = await api.client.patch(
        f"/api/v1/tasks/{reassigned}", json={"assignee_id": other["id"]}, headers=owner
    )
    assert moved.status_code == 200
    assert (await api.client.delete(f"/api/v1/tasks/{deleted}", headers=owner)).status_code == 204
    for task_id in (reassigned, deleted):
        gone = await api.client.get(f"/api/v1/tasks/{task_id}", headers=assignee_headers)
        assert gone.status_code == 404, f"a stale copy was served for {task_id}"
    # The owner still reads the reassigned task (from the same stale copy, DB-free).
    assert (await api.client.get(f"/api/v1/tasks/{reassigned}", headers=owner)).status_code == 200


async def test_only_readers_who_could_have_lost_access_cost_a_database_read(api: Api) -> None:
    _, owner = await api.user_headers()
    assignee, assignee_headers = await api.user_headers()
    _, admin = await api.user_headers(admin=True)
    url = f"/api/v1/tasks/{await new_task(api, owner, assignee_id=assignee['id'])}"
    for headers in (owner, assignee_headers, admin):
        assert (await api.client.get(url, headers=headers)).status_code == 200  # cached now
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    engine = api.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        reads = {}
        for name, headers in (("owner", owner), ("admin", admin), ("assignee", assignee_headers)):
            before = len(statements)
            assert (await api.client.get(url, headers=headers)).status_code == 200
            reads[name] = len(statements) - before
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert reads == {"owner": 0, "admin": 0, "assignee": 1}, statements


async def test_an_invalidation_is_not_skipped_during_the_redis_cool_down(
    api: Api, redis_server: RedisServer
) -> None:
    _, headers = await api.user_headers()
    task_id = await new_task(api, headers)
    url = f"/api/v1/tasks/{task_id}"
    assert (await api.client.get(url, headers=headers)).status_code == 200  # cached in Redis
    watcher = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        assert await watcher.exists(f"orgo:task:{task_id}")
        # A Redis error puts the gateway in its cool-down: reads bypass Redis for a while.
        with pytest.raises(RedisUnavailable):
            await api.state.redis.run(lambda client: client.execute_command("NO-SUCH-COMMAND"))
        assert not api.state.redis.usable
        changed = await api.client.patch(url, json={"title": "v2"}, headers=headers)
        assert changed.status_code == 200
        assert not await watcher.exists(f"orgo:task:{task_id}"), "the invalidation was skipped"
    finally:
        await watcher.aclose()
        await asyncio.sleep(COOL_DOWN_SECONDS)  # the next tests want the cache back


async def test_the_worker_cache_bumps_the_version_too(api: Api, redis_server: RedisServer) -> None:
    """The worker's second invalidation (no local tier) goes through the same versioning."""
    worker_cache = TaskCache(api.state.redis, api.state.settings)
    task_id = uuid.uuid4()
    lookup = await worker_cache.get(task_id)
    assert lookup.cached is None and lookup.version is not None
    await worker_cache.invalidate(task_id)
    await worker_cache.put(task_id, '{"stale": true}', lookup.version)
    assert (await worker_cache.get(task_id)).cached is None
