"""The worker process: outbox relay, event consumer, periodic jobs, metrics endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aio_pika.abc import AbstractRobustConnection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orgo.core.cache import TaskCache
from orgo.core.config import Settings
from orgo.core.db import create_engine, create_sessionmaker
from orgo.core.logging import configure_logging
from orgo.core.metrics import DEAD_LETTER_MESSAGES, PERIODIC_JOB_RUNS, record_build_info
from orgo.core.redis import RedisGateway
from orgo.events import broker
from orgo.events.handlers import apply_and_record
from orgo.events.outbox import EventEnvelope
from orgo.events.relay import Publish, event_body, relay_once
from orgo.models import OutboxEvent
from orgo.worker import jobs
from orgo.worker.consumer import consume
from orgo.worker.server import serve

log = logging.getLogger(__name__)

STALL_SECONDS = 60.0
DLQ_POLL_SECONDS = 5.0


class Heartbeat:
    """When the relay loop last came round: /healthz fails if it stalls."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    def beat(self) -> None:
        self.last = time.monotonic()

    def healthy(self) -> bool:
        return time.monotonic() - self.last < STALL_SECONDS


async def _every(seconds: float, what: str, step: Callable[[], Awaitable[object]]) -> None:
    """Runs `step` forever, `seconds` apart, surviving (and logging) its failures."""
    while True:
        try:
            await step()
        except Exception:
            log.exception("%s failed; retrying in %.1fs", what, seconds)
        await asyncio.sleep(seconds)


def _periodic_job(
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    interval: float,
    job: Callable[[], Awaitable[int]],
) -> Callable[[], Awaitable[None]]:
    async def run_if_due() -> None:
        if not await jobs.acquire_lease(sessions, name, timedelta(seconds=interval)):
            return
        try:
            affected = await job()
        except Exception:
            PERIODIC_JOB_RUNS.labels(name, "failure").inc()
            raise
        PERIODIC_JOB_RUNS.labels(name, "success").inc()
        log.info("periodic job %s done: %d rows", name, affected)

    return run_if_due


def _local_publisher(sessions: async_sessionmaker[AsyncSession], cache: TaskCache) -> Publish:
    """Without a broker (the embedded default), events are applied in this process."""

    async def publish(event: OutboxEvent) -> None:
        await apply_and_record(sessions, cache, EventEnvelope.model_validate(event.payload))

    return publish


async def _broker_publisher(connection: AbstractRobustConnection, timeout: float) -> Publish:
    channel = await connection.channel(publisher_confirms=True)
    exchange, _ = await broker.declare_topology(channel)

    async def publish(event: OutboxEvent) -> None:
        message = broker.event_message(str(event.id), event.event_type, event_body(event))
        # Returns once the broker confirmed the message; mandatory makes an unroutable
        # message an error instead of a silent drop.
        await asyncio.wait_for(
            exchange.publish(message, routing_key=event.event_type, mandatory=True), timeout
        )

    return publish


async def _connect_broker(settings: Settings) -> AbstractRobustConnection:
    delay = 1.0
    while True:
        try:
            return await broker.connect(settings.amqp_url, settings.dependency_timeout_seconds * 5)
        except Exception as exc:
            log.warning("broker unreachable (%s); retrying in %.0fs", type(exc).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)


async def run(settings: Settings) -> None:
    configure_logging("orgo-worker", settings.log_level)
    record_build_info("orgo-worker")
    engine = create_engine(settings)
    sessions = create_sessionmaker(engine)
    redis = RedisGateway(settings)
    cache = TaskCache(redis, settings)
    heartbeat = Heartbeat()
    server = await serve(settings.host, settings.worker_metrics_port, heartbeat.healthy)
    loops: list[Awaitable[object]] = []
    connection = None
    if settings.amqp_url:
        connection = await _connect_broker(settings)
        publish = await _broker_publisher(connection, settings.dependency_timeout_seconds * 5)
        loops.append(consume(settings, sessions, cache, connection))
        dlq_channel = await connection.channel()

        async def poll_dead_letters() -> None:
            DEAD_LETTER_MESSAGES.set(await broker.dead_letter_depth(dlq_channel))

        loops.append(_every(DLQ_POLL_SECONDS, "dead-letter poll", poll_dead_letters))
    else:
        publish = _local_publisher(sessions, cache)

    async def relay() -> None:
        heartbeat.beat()
        while await relay_once(sessions, publish, settings.relay_batch_size):
            heartbeat.beat()

    retention = timedelta(seconds=settings.outbox_retention_seconds)
    loops += [
        _every(settings.relay_interval_seconds, "outbox relay", relay),
        _every(
            1.0,
            "outbox clean-up",
            _periodic_job(
                sessions,
                "outbox_cleanup",
                settings.outbox_cleanup_interval_seconds,
                lambda: jobs.clean_outbox(sessions, retention),
            ),
        ),
        _every(
            1.0,
            "overdue sweep",
            _periodic_job(
                sessions,
                "overdue_sweep",
                settings.overdue_sweep_interval_seconds,
                lambda: jobs.sweep_overdue(sessions),
            ),
        ),
    ]
    log.info("worker started (broker: %s)", "rabbitmq" if connection else "in-process")
    try:
        await _until_signalled(*loops)
    finally:
        server.close()
        if connection is not None:
            await connection.close()
        await redis.close()
        await engine.dispose()
        log.info("worker stopped")


async def _until_signalled(*loops: Awaitable[object]) -> None:
    tasks = [asyncio.ensure_future(loop) for loop in loops]
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    waiter = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
    for task in [waiter, *tasks]:
        task.cancel()
    for task in done:
        if task is not waiter and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*tasks, return_exceptions=True)
