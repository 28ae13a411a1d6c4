"""Fault drills on real services: nothing a client was told "created" is lost.

Each drill gets data services of its own, because it stops and restarts them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.harness.deployment import Deployment, deploy
from tests.harness.processes import wait_until
from tests.harness.services import PostgresServer, RabbitmqServer, RedisServer

TASKS = 200


@dataclass
class Services:
    postgres: PostgresServer
    redis: RedisServer
    rabbitmq: RabbitmqServer


@pytest.fixture(scope="module")
def services() -> Iterator[Services]:
    own = Services(PostgresServer(), RedisServer(), RabbitmqServer())
    yield own
    for server in (own.postgres, own.redis, own.rabbitmq):
        server.destroy()


@pytest.fixture
def deployment(services: Services) -> Iterator[Deployment]:
    running = deploy(services.postgres, services.redis, services.rabbitmq)
    yield running
    running.stop()


async def _create_tasks(deployment: Deployment, count: int, assignee_id: str) -> list[int]:
    headers = deployment.headers()
    limits = asyncio.Semaphore(16)
    async with httpx.AsyncClient(
        base_url=deployment.api.url, headers=headers, timeout=30
    ) as client:

        async def one(index: int) -> int:
            async with limits:
                response = await client.post(
                    "/api/v1/tasks", json={"title": f"drill {index}", "assignee_id": assignee_id}
                )
                return response.status_code

        return await asyncio.gather(*(one(i) for i in range(count)))


def _assert_each_event_applied_once(deployment: Deployment, count: int) -> None:
    """Every created task has exactly one activity entry and one notification."""
    deployment.wait_for_count("SELECT count(*) FROM task_activity", count, timeout=120)
    deployment.wait_for_count("SELECT count(*) FROM notifications", count, timeout=60)
    assert deployment.count("SELECT count(DISTINCT event_id) FROM notifications") == count
    assert deployment.count("SELECT count(*) FROM processed_events") == count
    assert deployment.count("SELECT count(*) FROM outbox_events WHERE published_at IS NULL") == 0


def test_drill_1_redis_down_reads_and_writes_still_succeed(
    deployment: Deployment, services: Services
) -> None:
    headers = deployment.headers()
    api = deployment.api
    task = httpx.post(f"{api.url}/api/v1/tasks", json={"title": "cache me"}, headers=headers)
    url = f"{api.url}/api/v1/tasks/{task.json()['id']}"
    assert httpx.get(url, headers=headers).status_code == 200
    bypasses = api.metric("orgo_cache_requests_total", {"result": "bypass"})
    services.redis.stop()
    try:
        for title in ("still writable", "and again"):
            changed = httpx.patch(url, json={"title": title}, headers=headers)
            assert changed.status_code == 200
            read = httpx.get(url, headers=headers)
            assert read.status_code == 200
            assert read.json()["title"] == title
        created = httpx.post(f"{api.url}/api/v1/tasks", json={"title": "new"}, headers=headers)
        assert created.status_code == 201
        assert api.metric("orgo_cache_requests_total", {"result": "bypass"}) >= bypasses + 2
        ready = httpx.get(f"{api.url}/readyz")
        assert ready.status_code == 503 and ready.json()["down"] == ["redis"]
    finally:
        services.redis.start()
    # Back to normal: the cache serves again and readiness recovers.
    wait_until(lambda: httpx.get(f"{api.url}/readyz").status_code == 200, 30, "readiness")


def test_drill_2_broker_down_while_200_tasks_are_created(
    deployment: Deployment, services: Services
) -> None:
    assignee = deployment.create_user()
    services.rabbitmq.stop()
    try:
        statuses = asyncio.run(_create_tasks(deployment, TASKS, assignee["id"]))
        assert statuses == [201] * TASKS
        assert (
            deployment.count("SELECT count(*) FROM outbox_events WHERE published_at IS NULL")
            == TASKS
        )
        assert deployment.count("SELECT count(*) FROM task_activity") == 0
    finally:
        services.rabbitmq.start()
    _assert_each_event_applied_once(deployment, TASKS)


def test_drill_3_worker_killed_mid_batch(deployment: Deployment) -> None:
    assignee = deployment.create_user()
    deployment.worker.stop()
    statuses = asyncio.run(_create_tasks(deployment, TASKS, assignee["id"]))
    assert statuses == [201] * TASKS
    deployment.worker.start()
    wait_until(
        lambda: deployment.count("SELECT count(*) FROM task_activity") >= 10,
        60,
        "the worker to start on the batch",
        interval=0.05,
    )
    deployment.worker.kill()
    applied_before_kill = deployment.count("SELECT count(*) FROM task_activity")
    assert applied_before_kill < TASKS, "the batch finished before the kill; drill not exercised"
    deployment.worker.start()
    _assert_each_event_applied_once(deployment, TASKS)


def test_drill_4_postgres_restart_is_reported_and_survived(
    deployment: Deployment, services: Services
) -> None:
    headers = deployment.headers()
    api = deployment.api
    services.postgres.stop()
    try:
        ready = httpx.get(f"{api.url}/readyz", timeout=10)
        assert ready.status_code == 503
        assert ready.json()["down"] == ["database"]
        assert ready.json()["checks"]["database"].startswith("down")
        # Requests meanwhile get a retryable 503, not a 500 or a dropped connection.
        refused = httpx.get(f"{api.url}/api/v1/tasks", headers=headers, timeout=10)
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "5"
        assert "database" in refused.json()["detail"]
    finally:
        services.postgres.start()
    wait_until(lambda: httpx.get(f"{api.url}/readyz").status_code == 200, 30, "readiness")
    # The same API process serves again: no restart needed.
    created = httpx.post(
        f"{api.url}/api/v1/tasks", json={"title": "after restart"}, headers=headers
    )
    assert created.status_code == 201
    assert api.running
