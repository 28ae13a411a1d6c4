"""The API in-process over httpx, on PostgreSQL + Redis and again on SQLite alone."""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from orgo.api.state import AppState
from orgo.core.config import Settings
from orgo.core.db import transaction
from orgo.main import create_app
from orgo.migrations.runner import upgrade_to_head
from orgo.services.users import create_user
from tests.harness.services import PostgresServer, RedisServer

PASSWORD = "correct horse battery staple"


def make_settings(database_url: str, redis_url: str = "", **overrides: Any) -> Settings:
    return Settings(
        env="test",
        jwt_secret=secrets.token_urlsafe(48),
        database_url=database_url,
        redis_url=redis_url,
        argon2_time_cost=1,
        argon2_memory_cost_kib=8192,
        argon2_parallelism=1,
        **overrides,
    )


@dataclass
class Api:
    """An HTTP client of one running app, with helpers to make users and log in."""

    app: FastAPI
    client: httpx.AsyncClient
    backend: str

    @property
    def state(self) -> AppState:
        state: AppState = self.app.state.orgo
        return state

    async def make_user(self, admin: bool = False) -> dict[str, Any]:
        email = f"user-{uuid.uuid4().hex[:12]}@example.com"
        async with transaction(self.state.sessions) as session:
            password_hash = self.state.auth.passwords.hash(PASSWORD)
            user = await create_user(session, email, password_hash, admin)
        return {"id": str(user.id), "email": email}

    async def login(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        response = await self.client.post(
            "/api/v1/auth/token", data={"username": email, "password": password}
        )
        assert response.status_code == 200, response.text
        tokens: dict[str, Any] = response.json()
        return tokens

    async def user_headers(self, admin: bool = False) -> tuple[dict[str, Any], dict[str, str]]:
        user = await self.make_user(admin)
        tokens = await self.login(user["email"])
        return user, {"Authorization": f"Bearer {tokens['access_token']}"}

    @contextlib.asynccontextmanager
    async def client_from(self, address: str) -> AsyncIterator[httpx.AsyncClient]:
        """A client of the same app whose requests come from `address` (login limits are
        per client address, so a test that fails logins on purpose uses its own)."""
        async with _client(self.app, address) as client:
            yield client


def _client(app: FastAPI, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://orgo.test")


@contextlib.asynccontextmanager
async def running_api(settings: Settings) -> AsyncIterator[Api]:
    """The app of these settings started (lifespan) in this event loop, with a client."""
    app = create_app(settings)
    async with app.router.lifespan_context(app), _client(app) as client:
        yield Api(app, client, "sqlite" if settings.is_sqlite else "postgres")


@pytest.fixture(scope="session", params=["postgres", "sqlite"])
def backend_settings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    if request.param == "postgres":
        database: PostgresServer = request.getfixturevalue("postgres")
        redis: RedisServer = request.getfixturevalue("redis_server")
        settings = make_settings(database.url, redis.url)
    else:
        path = tmp_path_factory.mktemp("sqlite") / "orgo.db"
        settings = make_settings(f"sqlite+aiosqlite:///{path}")
    upgrade_to_head(settings)
    return settings


@pytest.fixture(scope="session")
async def api(backend_settings: Settings) -> AsyncIterator[Api]:
    async with running_api(backend_settings) as running:
        yield running
