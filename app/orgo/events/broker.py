"""RabbitMQ topology and the two ends that use it: the outbox publisher and the consumer.

exchange orgo.events (topic, durable) --task.*--> queue orgo.worker.events
    a failed message is re-published to orgo.worker.retry with a per-message TTL (the
    backoff); when it expires it dead-letters back to orgo.worker.events;
    after the last attempt it is rejected and dead-letters through orgo.events.dlx to
    orgo.worker.dead, where it waits for a human.
"""

from __future__ import annotations

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractQueue,
    AbstractRobustConnection,
)

EXCHANGE = "orgo.events"
DEAD_LETTER_EXCHANGE = "orgo.events.dlx"
QUEUE = "orgo.worker.events"
RETRY_QUEUE = "orgo.worker.retry"
DEAD_LETTER_QUEUE = "orgo.worker.dead"
ATTEMPT_HEADER = "x-orgo-attempt"


async def connect(url: str, timeout: float) -> AbstractRobustConnection:
    return await aio_pika.connect_robust(
        url,
        timeout=timeout,
        client_properties={
            "connection_name": "orgo-worker",
        },
    )


async def declare_topology(channel: AbstractChannel) -> tuple[AbstractExchange, AbstractQueue]:
    """Declares every exchange and queue (idempotent); returns the exchange and work queue."""
    exchange = await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
    dead_letters = await channel.declare_exchange(
        DEAD_LETTER_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True
    )
    queue = await channel.declare_queue(
        QUEUE, durable=True, arguments={"x-dead-letter-exchange": DEAD_LETTER_EXCHANGE}
    )
    await queue.bind(exchange, routing_key="task.*")
    await channel.declare_queue(
        RETRY_QUEUE,
        durable=True,
        arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": QUEUE},
    )
    dead = await channel.declare_queue(DEAD_LETTER_QUEUE, durable=True)
    await dead.bind(dead_letters)
    return exchange, queue


def event_message(
    event_id: str, event_type: str, body: bytes, attempt: int = 1
) -> aio_pika.Message:
    return aio_pika.Message(
        body,
        message_id=event_id,
        type=event_type,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        headers={ATTEMPT_HEADER: attempt},
    )


async def dead_letter_depth(channel: AbstractChannel) -> int:
    # A passive declare on the raw channel: aio-pika's own declare_queue reuses the queue
    # object of an earlier declaration, with its stale message count.
    underlay = await channel.get_underlay_channel()
    declared = await underlay.queue_declare(DEAD_LETTER_QUEUE, passive=True)
    return int(declared.message_count or 0)
