"""Events end to end on real PostgreSQL, Redis and RabbitMQ with the real API and worker:
outbox -> relay (publisher confirms) -> worker -> activity + notifications, exactly once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import aio_pika
import httpx
import pytest

from tests.harness.deployment import Deployment, deploy
from tests.harness.processes import wait_until
from tests.harness.services import PostgresServer, RabbitmqServer, RedisServer


@pytest.fixture(scope="module")
def deployment(
    postgres: PostgresServer, redis_server: RedisServer, rabbitmq: RabbitmqServer
) -> Iterator[Deployment]:
    running = deploy(postgres, redis_server, rabbitmq, ORGO_WORKER_MAX_ATTEMPTS="3")
    yield running
    running.stop()


def test_task_changes_become_activity_and_notifications(deployment: Deployment) -> None:
    owner = deployment.create_user()
    assignee = deployment.create_user()
    headers = deployment.headers(owner["email"], owner["password"])
    created = httpx.post(
        f"{deployment.api.url}/api/v1/tasks",
        json={"title": "Rotate the JWT key", "assignee_id": assignee["id"]},
        headers=headers,
    )
    assert created.status_code == 201
    task_id = created.json()["id"]
    httpx.patch(
        f"{deployment.api.url}/api/v1/tasks/{task_id}",
        json={"status": "in_progress"},
        headers=headers,
    ).raise_for_status()

    deployment.wait_for_count(f"SELECT count(*) FROM task_activity WHERE task_id = '{task_id}'", 2)
    activity = httpx.get(f"{deployment.api.url}/api/v1/tasks/{task_id}/activity", headers=headers)
    assert [a["event_type"] for a in activity.json()] == ["task.created", "task.updated"]
    assert activity.json()[1]["details"]["changes"] == {
        "status": {"from": "todo", "to": "in_progress"}
    }

    inbox = httpx.get(
        f"{deployment.api.url}/api/v1/notifications",
        headers=deployment.headers(assignee["email"], assignee["password"]),
    ).json()
    subjects = sorted(n["subject"] for n in inbox)
    assert subjects == ["New task: Rotate the JWT key", "Task updated: Rotate the JWT key"]
    assert "- status: todo -> in_progress" in next(
        n["body"] for n in inbox if n["subject"].startswith("Task updated")
    )
    # The actor is not notified of their own changes.
    own = httpx.get(f"{deployment.api.url}/api/v1/notifications", headers=headers).json()
    assert own == []
    assert deployment.worker.metric("orgo_events_consumed_total", {"outcome": "processed"}) >= 2
    assert deployment.worker.metric("orgo_events_published_total", {"outcome": "success"}) >= 2


def test_a_removed_assignee_is_told_only_that_they_were_unassigned(
    deployment: Deployment,
) -> None:
    owner, removed, added = (deployment.create_user() for _ in range(3))
    headers = deployment.headers(owner["email"], owner["password"])
    api = deployment.api.url
    created = httpx.post(
        f"{api}/api/v1/tasks",
        json={"title": "Budget draft", "assignee_id": removed["id"]},
        headers=headers,
    )
    task_id = created.json()["id"]
    httpx.patch(
        f"{api}/api/v1/tasks/{task_id}",
        json={
            "assignee_id": added["id"],
            "title": "Layoffs plan",
            "description": "names in the attached sheet",
        },
        headers=headers,
    ).raise_for_status()
    deployment.wait_for_count(f"SELECT count(*) FROM notifications WHERE task_id = '{task_id}'", 3)

    def inbox(person: dict[str, str]) -> list[dict[str, str]]:
        return list(
            httpx.get(
                f"{api}/api/v1/notifications",
                headers=deployment.headers(person["email"], person["password"]),
            ).json()
        )

    told = {n["subject"]: n["body"] for n in inbox(removed)}
    assert set(told) == {"New task: Budget draft", "You were unassigned from a task"}
    unassigned = "You were unassigned from a task\n" + told["You were unassigned from a task"]
    for secret in ("Layoffs", "attached sheet", added["id"], "description"):
        assert secret not in unassigned
    assert "Budget draft" in unassigned
    # The new assignee is told everything, as before.
    (update,) = inbox(added)
    assert update["subject"] == "Task updated: Layoffs plan"
    assert "- description:  -> names in the attached sheet" in update["body"]


def test_cached_reads_count_hits_and_misses(deployment: Deployment) -> None:
    headers = deployment.headers()
    created = {"event_type": "task.created", "outcome": "processed"}
    applied = deployment.worker.metric("orgo_events_consumed_total", created)
    task = httpx.post(f"{deployment.api.url}/api/v1/tasks", json={"title": "c"}, headers=headers)
    task_id = task.json()["id"]
    url = f"{deployment.api.url}/api/v1/tasks/{task_id}"
    # The worker drops the task's cached copy again once it has applied the creation event
    # (see apply_event); counting starts after that, so the three reads below are alone.
    deployment.wait_for_count(f"SELECT count(*) FROM task_activity WHERE task_id = '{task_id}'", 1)
    wait_until(
        lambda: deployment.worker.metric("orgo_events_consumed_total", created) > applied,
        30,
        "the worker to finish applying task.created",
    )
    hits = deployment.api.metric("orgo_cache_requests_total", {"result": "hit"})
    misses = deployment.api.metric("orgo_cache_requests_total", {"result": "miss"})
    for _ in range(3):
        assert httpx.get(url, headers=headers).status_code == 200
    assert deployment.api.metric("orgo_cache_requests_total", {"result": "miss"}) == misses + 1
    assert deployment.api.metric("orgo_cache_requests_total", {"result": "hit"}) == hits + 2


async def _publish_raw(url: str, body: bytes) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange("orgo.events")
        await exchange.publish(
            aio_pika.Message(
                body,
                message_id="poison-1",
                type="task.created",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key="task.created",
        )


def test_poison_message_lands_in_the_dead_letter_queue_after_n_attempts(
    deployment: Deployment, rabbitmq: RabbitmqServer
) -> None:
    """Drill 5: a message the worker can never apply is retried, then dead-lettered."""
    assert deployment.vhost is not None
    poison = json.dumps({"event_type": "task.created", "task": "not a task"}).encode()
    asyncio.run(_publish_raw(rabbitmq.url_for(deployment.vhost), poison))

    wait_until(
        lambda: rabbitmq.queue_depths(deployment.vhost).get("orgo.worker.dead") == 1,
        60,
        "the poison message in orgo.worker.dead",
        interval=0.5,
    )
    worker = deployment.worker
    # The worker counts the outcome once the broker has taken the reject.
    wait_until(
        lambda: worker.metric("orgo_events_consumed_total", {"outcome": "dead_lettered"}) >= 1,
        20,
        "the dead-lettered count",
    )
    assert worker.metric("orgo_events_consumed_total", {"outcome": "dead_lettered"}) == 1
    # Three attempts (ORGO_WORKER_MAX_ATTEMPTS=3): two retries, then the dead-letter queue.
    assert worker.metric("orgo_events_consumed_total", {"outcome": "retried"}) == 2
    wait_until(
        lambda: worker.metric("orgo_dead_letter_queue_messages") == 1,
        20,
        "the dead-letter gauge to show the message",
    )
    assert rabbitmq.queue_depths(deployment.vhost)["orgo.worker.events"] == 0
