"""Everything the API builds once at start-up and shares between requests."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from orgo.api.broker_probe import BrokerProbe
from orgo.core.cache import TaskCache
from orgo.core.config import Settings
from orgo.core.db import create_engine, create_sessionmaker
from orgo.core.ratelimit import LoginThrottle
from orgo.core.redis import RedisGateway
from orgo.core.security import AccessTokens, PasswordPool, Passwords
from orgo.services.auth import AuthService
from orgo.services.tasks import TaskCreator


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: RedisGateway
    cache: TaskCache
    auth: AuthService
    broker: BrokerProbe
    task_creator: TaskCreator

    @classmethod
    def build(cls, settings: Settings) -> AppState:
        engine = create_engine(settings)
        redis = RedisGateway(settings)
        return cls(
            settings=settings,
            engine=engine,
            sessions=create_sessionmaker(engine),
            redis=redis,
            cache=TaskCache(redis, settings, local_tier=True),
            auth=AuthService(
                settings,
                PasswordPool(Passwords(settings), settings),
                AccessTokens(settings),
                LoginThrottle(redis, settings),
            ),
            broker=BrokerProbe(settings),
            task_creator=TaskCreator(engine),
        )

    async def close(self) -> None:
        self.auth.hashing.close()
        await self.cache.close()
        await self.broker.close()
        await self.redis.close()
        await self.engine.dispose()
