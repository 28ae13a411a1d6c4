"""Failed-login limiter per account and client: fixed windows in Redis.

When Redis is unavailable the same windows are kept in this process, so a brute force
attempt is still slowed down (per replica) rather than let through.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time

from redis.asyncio import Redis

from orgo.core.config import Settings
from orgo.core.redis import RedisGateway, RedisUnavailable


class LoginRateLimiter:
    def __init__(self, redis: RedisGateway, settings: Settings) -> None:
        self._redis = redis
        self._max = settings.login_max_attempts
        self._window = settings.login_window_seconds
        self._local: dict[str, tuple[float, int]] = {}

    @staticmethod
    def _key(account: str, client: str) -> str:
        # Hashed so that neither the e-mail nor the address is stored in Redis in clear.
        digest = hashlib.sha256(f"{account.lower()}|{client}".encode()).hexdigest()[:32]
        return f"orgo:login-failures:{digest}"

    async def retry_after(self, account: str, client: str) -> int | None:
        """Seconds to wait when the account+client has used up its attempts, else None."""
        key = self._key(account, client)
        try:
            count = await self._redis.run(lambda c: c.get(key))
            if count is None or int(count) < self._max:
                return None
            ttl: int = await self._redis.run(lambda c: c.ttl(key))
            return max(ttl, 1)
        except RedisUnavailable:
            return self._local_retry_after(key)

    async def record_failure(self, account: str, client: str) -> None:
        key = self._key(account, client)

        async def count_failure(client: Redis) -> None:
            async with client.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, self._window, nx=True)
                await pipe.execute()

        try:
            await self._redis.run(count_failure)
        except RedisUnavailable:
            self._local_failure(key)

    async def reset(self, account: str, client: str) -> None:
        key = self._key(account, client)
        self._local.pop(key, None)
        with contextlib.suppress(RedisUnavailable):
            await self._redis.run(lambda c: c.delete(key))

    def _local_failure(self, key: str) -> None:
        now = time.monotonic()
        started, count = self._local.get(key, (now, 0))
        if now - started >= self._window:
            started, count = now, 0
        self._local[key] = (started, count + 1)

    def _local_retry_after(self, key: str) -> int | None:
        started, count = self._local.get(key, (0.0, 0))
        remaining = self._window - (time.monotonic() - started)
        if count < self._max or remaining <= 0:
            return None
        return math.ceil(remaining)
