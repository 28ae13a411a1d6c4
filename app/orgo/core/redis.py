"""The Redis connection, shared by the task cache and the login rate limiter.

Redis is an accelerator, never a dependency of correctness: when it fails, callers get
`RedisUnavailable` and go to the database (or to the in-process limiter), and for a short
cool-down we do not even try, so a dead Redis costs no timeouts on the hot path.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from orgo.core.config import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

COOL_DOWN_SECONDS = 2.0


class RedisUnavailable(Exception):
    """Redis is not configured, failed just now, or is in its cool-down."""


class RedisGateway:
    def __init__(self, settings: Settings) -> None:
        self.configured = bool(settings.redis_url)
        # One deadline per operation, connecting included (in run), instead of redis-py's
        # socket timeout (5 s by default), which wraps every socket write in an asyncio
        # task of its own.
        self._timeout = settings.dependency_timeout_seconds
        self.client: Redis | None = (
            Redis.from_url(
                settings.redis_url,
                socket_timeout=None,
                socket_connect_timeout=self._timeout,
                decode_responses=True,
            )
            if self.configured
            else None
        )
        self._down_until = 0.0

    @property
    def usable(self) -> bool:
        return self.client is not None and time.monotonic() >= self._down_until

    async def run(
        self, operation: Callable[[Redis], Awaitable[T]], during_cool_down: bool = False
    ) -> T:
        """Runs one Redis operation, or raises RedisUnavailable. During the cool-down only
        operations that must not be skipped (`during_cool_down`) are tried."""
        if self.client is None or not (self.usable or during_cool_down):
            raise RedisUnavailable
        try:
            async with asyncio.timeout(self._timeout):
                return await operation(self.client)
        except (RedisError, OSError) as exc:  # OSError includes the deadline's TimeoutError
            self._down_until = time.monotonic() + COOL_DOWN_SECONDS
            log.warning(
                "redis unavailable, bypassing for %.0fs: %s", COOL_DOWN_SECONDS, type(exc).__name__
            )
            raise RedisUnavailable from exc

    async def ping(self) -> None:
        """Raises when Redis does not answer (used by /readyz, ignores the cool-down)."""
        if self.client is None:
            return
        await self.client.ping()

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()
