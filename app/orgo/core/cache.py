"""Read-through cache of tasks in Redis with a TTL, invalidated on every write.

In the API, a second tier sits in front: each process keeps the tasks it read from Redis
for a few seconds (`orgo.core.local_cache`), dropped as soon as Redis reports the key
changed. The worker only invalidates, so it has no local tier.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass

from orgo.core.config import Settings
from orgo.core.local_cache import LocalCopies
from orgo.core.metrics import CACHE_LOCAL_HITS, CACHE_REQUESTS
from orgo.core.redis import RedisGateway, RedisUnavailable
from orgo.schemas import TaskOut

KEY_PREFIX = "orgo:task:"


def _key(task_id: uuid.UUID) -> str:
    return f"{KEY_PREFIX}{task_id}"


@dataclass(frozen=True, slots=True)
class CachedTask:
    """A cached task: the JSON as stored (the response body) and the task it describes."""

    json: str
    task: TaskOut


class TaskCache:
    def __init__(self, redis: RedisGateway, settings: Settings, local_tier: bool = False) -> None:
        self._redis = redis
        self._ttl = settings.cache_ttl_seconds
        self._local: LocalCopies[CachedTask] | None = (
            LocalCopies(
                settings.redis_url,
                KEY_PREFIX,
                settings.local_cache_seconds,
                settings.local_cache_entries,
                settings.dependency_timeout_seconds,
            )
            if local_tier and redis.configured and settings.local_cache_seconds > 0
            else None
        )
        self._tracking: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Starts keeping local copies (in the running event loop), if there is a local tier."""
        if self._local is not None and self._tracking is None:
            self._tracking = asyncio.create_task(self._local.run(), name="local-cache-tracking")

    async def close(self) -> None:
        if self._tracking is not None:
            self._tracking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tracking
            self._tracking = None

    async def get(self, task_id: uuid.UUID) -> CachedTask | None:
        """The cached task, counting a hit, a miss or a bypass."""
        if not self._redis.configured:
            return None
        key = _key(task_id)
        if self._local is not None and (copy := self._local.get(key)) is not None:
            CACHE_REQUESTS.labels("hit").inc()
            CACHE_LOCAL_HITS.inc()
            return copy
        ticket = self._local.ticket() if self._local is not None else None
        try:
            # execute_command skips redis-py's per-call argument inspection on get().
            value = await self._redis.run(
                lambda client: client.execute_command("GET", key)  # type: ignore[no-untyped-call]
            )
        except RedisUnavailable:
            CACHE_REQUESTS.labels("bypass").inc()
            return None
        if value is None:
            CACHE_REQUESTS.labels("miss").inc()
            return None
        CACHE_REQUESTS.labels("hit").inc()
        cached = CachedTask(value, TaskOut.model_validate_json(value))
        if self._local is not None:
            self._local.keep(ticket, key, cached)
        return cached

    async def put(self, task_id: uuid.UUID, payload: str) -> None:
        with contextlib.suppress(RedisUnavailable):
            await self._redis.run(lambda client: client.set(_key(task_id), payload, ex=self._ttl))

    async def invalidate(self, task_id: uuid.UUID) -> None:
        key = _key(task_id)
        try:
            with contextlib.suppress(RedisUnavailable):
                await self._redis.run(lambda client: client.delete(key))
        finally:
            # After the delete: a read that fetched the old value while it was under way
            # cannot keep it now, even before Redis's push about the delete arrives.
            if self._local is not None:
                self._local.drop(key)
