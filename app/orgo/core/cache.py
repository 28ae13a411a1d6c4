"""Read-through cache of tasks in Redis with a TTL, invalidated on every write."""

from __future__ import annotations

import contextlib
import uuid

from orgo.core.config import Settings
from orgo.core.metrics import CACHE_REQUESTS
from orgo.core.redis import RedisGateway, RedisUnavailable


def _key(task_id: uuid.UUID) -> str:
    return f"orgo:task:{task_id}"


class TaskCache:
    def __init__(self, redis: RedisGateway, settings: Settings) -> None:
        self._redis = redis
        self._ttl = settings.cache_ttl_seconds

    async def get(self, task_id: uuid.UUID) -> str | None:
        """The cached JSON of a task, counting a hit, a miss or a bypass."""
        if not self._redis.configured:
            return None
        try:
            # execute_command skips redis-py's per-call argument inspection on get().
            value = await self._redis.run(
                lambda client: client.execute_command("GET", _key(task_id))  # type: ignore[no-untyped-call]
            )
        except RedisUnavailable:
            CACHE_REQUESTS.labels("bypass").inc()
            return None
        CACHE_REQUESTS.labels("hit" if value is not None else "miss").inc()
        return value.decode() if isinstance(value, bytes) else value

    async def put(self, task_id: uuid.UUID, payload: str) -> None:
        with contextlib.suppress(RedisUnavailable):
            await self._redis.run(lambda client: client.set(_key(task_id), payload, ex=self._ttl))

    async def invalidate(self, task_id: uuid.UUID) -> None:
        with contextlib.suppress(RedisUnavailable):
            await self._redis.run(lambda client: client.delete(_key(task_id)))
