"""Read-through cache of tasks in Redis with a TTL, invalidated on every write.

Writes are versioned: an invalidation bumps the task's version and deletes its copy in one
step, and a reader may store the row it read from the database only if the version is
still the one it saw before reading (compare-and-set, one Lua script). So a read that
raced a write can never store the old row after the writer's invalidation.

Invalidations are attempted even during the gateway's cool-down after a Redis failure (a
write is worth one attempt); one that still fails leaves the copy until the worker's
second invalidation or the TTL. Authorisation never depends on it: only owners and admins
are served a cached copy as it is, and their access cannot have been revoked.

In the API, a second tier sits in front: each process keeps the tasks it read from Redis
for a few seconds (`orgo.core.local_cache`), dropped as soon as Redis reports the key
changed. The worker only invalidates, so it has no local tier.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass

from redis.asyncio import Redis

from orgo.core.config import Settings
from orgo.core.local_cache import LocalCopies
from orgo.core.metrics import CACHE_LOCAL_HITS, CACHE_REQUESTS
from orgo.core.redis import RedisGateway, RedisUnavailable
from orgo.schemas import TaskOut

log = logging.getLogger(__name__)

KEY_PREFIX = "orgo:task:"
# Outside KEY_PREFIX, so the local tier's tracking is not told about version bumps.
VERSION_PREFIX = "orgo:taskversion:"
# A version only has to outlive the reads that saw it (database read, then compare-and-set).
VERSION_TTL_SECONDS = 3600

# KEYS: the task's copy, its version. ARGV: the JSON, the TTL, the version seen before the
# database read ('' when there was none). Stores the copy only if no write came since.
_PUT_IF_UNCHANGED = """
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""


def _key(task_id: uuid.UUID) -> str:
    return f"{KEY_PREFIX}{task_id}"


def _version_key(task_id: uuid.UUID) -> str:
    return f"{VERSION_PREFIX}{task_id}"


@dataclass(frozen=True, slots=True)
class CachedTask:
    """A cached task: the JSON as stored (the response body) and the task it describes."""

    json: str
    task: TaskOut


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a cache read found: the copy, or on a miss the task's version at that moment,
    which a later `put` must find unchanged (None: Redis did not answer, put nothing)."""

    cached: CachedTask | None
    version: str | None = None


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
        client = redis.client
        self._put_if_unchanged = (
            client.register_script(_PUT_IF_UNCHANGED) if client is not None else None
        )

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

    async def get(self, task_id: uuid.UUID) -> Lookup:
        """The cached task (or the version to `put` it with), counting a hit, miss or bypass."""
        if not self._redis.configured:
            return Lookup(None)
        key = _key(task_id)
        if self._local is not None and (copy := self._local.get(key)) is not None:
            CACHE_REQUESTS.labels("hit").inc()
            CACHE_LOCAL_HITS.inc()
            return Lookup(copy)
        ticket = self._local.ticket() if self._local is not None else None
        version_key = _version_key(task_id)
        try:
            # One round trip for the copy and, in case of a miss, its version;
            # execute_command skips redis-py's per-call argument inspection.
            value, version = await self._redis.run(
                lambda client: client.execute_command("MGET", key, version_key)  # type: ignore[no-untyped-call]
            )
        except RedisUnavailable:
            CACHE_REQUESTS.labels("bypass").inc()
            return Lookup(None)
        if value is None:
            CACHE_REQUESTS.labels("miss").inc()
            return Lookup(None, version or "")
        CACHE_REQUESTS.labels("hit").inc()
        cached = CachedTask(value, TaskOut.model_validate_json(value))
        if self._local is not None:
            self._local.keep(ticket, key, cached)
        return Lookup(cached)

    async def put(self, task_id: uuid.UUID, payload: str, version: str | None) -> None:
        """Stores the copy read from the database, unless a write bumped the task's version
        since `version` was read (then the copy may be older than that write)."""
        script = self._put_if_unchanged
        if version is None or script is None:
            return
        keys = [_key(task_id), _version_key(task_id)]
        with contextlib.suppress(RedisUnavailable):
            await self._redis.run(
                lambda client: script(keys, [payload, self._ttl, version], client)
            )

    async def invalidate(self, task_id: uuid.UUID) -> None:
        key, version_key = _key(task_id), _version_key(task_id)

        async def bump_and_delete(client: Redis) -> None:
            async with client.pipeline(transaction=True) as step:
                step.incr(version_key)
                step.expire(version_key, VERSION_TTL_SECONDS)
                step.delete(key)
                await step.execute()

        try:
            try:
                await self._redis.run(bump_and_delete, during_cool_down=True)
            except RedisUnavailable:
                if self._redis.configured:
                    log.warning(
                        "task %s: cache invalidation failed; its copy may outlive it", task_id
                    )
        finally:
            # After the delete: a read that fetched the old value while it was under way
            # cannot keep it now, even before Redis's push about the delete arrives.
            if self._local is not None:
                self._local.drop(key)
