"""Readiness of the broker as seen from the API: one lazily opened AMQP connection."""

from __future__ import annotations

import asyncio

import aio_pika
from aio_pika.abc import AbstractConnection

from orgo.core.config import Settings


class BrokerProbe:
    def __init__(self, settings: Settings) -> None:
        self._url = settings.amqp_url
        self._timeout = settings.dependency_timeout_seconds
        self._connection: AbstractConnection | None = None
        self._lock = asyncio.Lock()

    async def check(self) -> None:
        """Raises when the broker is configured and does not accept a connection."""
        if not self._url:
            return
        async with self._lock:
            if self._connection is None or self._connection.is_closed:
                self._connection = await aio_pika.connect(self._url, timeout=self._timeout)

    async def close(self) -> None:
        if self._connection is not None and not self._connection.is_closed:
            await self._connection.close()
