"""Consumes events from RabbitMQ: manual ack, bounded prefetch, retries with exponential
backoff through the retry queue, and the dead-letter queue after the last attempt."""

from __future__ import annotations

import asyncio
import logging

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orgo.core.cache import TaskCache
from orgo.core.config import Settings
from orgo.core.logging import event_id_var, event_type_var
from orgo.core.metrics import EVENTS_CONSUMED
from orgo.events import broker
from orgo.events.handlers import apply_and_record
from orgo.events.outbox import EventEnvelope

log = logging.getLogger(__name__)

# Errors of our dependencies rather than of the message: retried without using up attempts,
# so a database outage never sends good events to the dead-letter queue.
TRANSIENT_ERRORS = (OperationalError, DBAPIError, OSError, asyncio.TimeoutError)
MAX_BACKOFF_SECONDS = 300.0


class EventConsumer:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        cache: TaskCache,
        channel: AbstractChannel,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._cache = cache
        self._channel = channel

    def backoff(self, attempt: int) -> float:
        delay: float = self._settings.worker_retry_base_seconds * 2 ** (attempt - 1)
        return min(delay, MAX_BACKOFF_SECONDS)

    async def handle(self, message: AbstractIncomingMessage) -> None:
        attempt = int(message.headers.get(broker.ATTEMPT_HEADER, 1) or 1)  # type: ignore[arg-type]
        event_type = message.type or "unknown"
        event_id_var.set(message.message_id)
        event_type_var.set(event_type)
        try:
            event = EventEnvelope.model_validate_json(message.body)
            await apply_and_record(self._sessions, self._cache, event)
        except TRANSIENT_ERRORS as exc:
            log.warning("dependency failed, will retry: %s", type(exc).__name__)
            await self._retry(message, attempt, delay_attempt=attempt)
            EVENTS_CONSUMED.labels(event_type, "retried").inc()
        except Exception as exc:  # a poison message: parse or apply failed
            await self._fail(message, attempt, event_type, exc)
        else:
            await message.ack()

    async def _fail(
        self, message: AbstractIncomingMessage, attempt: int, event_type: str, exc: Exception
    ) -> None:
        if attempt >= self._settings.worker_max_attempts:
            log.error("event dead-lettered after %d attempts: %s", attempt, type(exc).__name__)
            await message.reject(requeue=False)
            EVENTS_CONSUMED.labels(event_type, "dead_lettered").inc()
            return
        log.warning("event failed (attempt %d), retrying: %s", attempt, type(exc).__name__)
        await self._retry(message, attempt + 1, delay_attempt=attempt)
        EVENTS_CONSUMED.labels(event_type, "retried").inc()

    async def _retry(
        self, message: AbstractIncomingMessage, next_attempt: int, delay_attempt: int
    ) -> None:
        """Parks a copy in the retry queue (confirmed), then acks the original."""
        retry = broker.event_message(
            message.message_id or "", message.type or "unknown", message.body, next_attempt
        )
        retry.expiration = self.backoff(delay_attempt)
        await self._channel.default_exchange.publish(retry, routing_key=broker.RETRY_QUEUE)
        await message.ack()


async def consume(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    cache: TaskCache,
    connection: aio_pika.abc.AbstractRobustConnection,
) -> None:
    """Consumes until cancelled; the robust connection re-subscribes after broker restarts."""
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=settings.worker_prefetch)
    _, queue = await broker.declare_topology(channel)
    consumer = EventConsumer(settings, sessions, cache, channel)
    await queue.consume(consumer.handle)
    await asyncio.Future()  # consume until the worker is stopped
