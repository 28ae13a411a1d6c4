"""One Orgo deployment for system tests: its own database and vhost on the given servers,
the schema migrated, an admin created through the CLI, the API and worker running."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.harness.orgo import OrgoProcess, orgo, orgo_env
from tests.harness.processes import wait_until
from tests.harness.services import PostgresServer, RabbitmqServer, RedisServer


@dataclass
class Deployment:
    postgres: PostgresServer
    database: str
    vhost: str | None
    env: dict[str, str]
    api: OrgoProcess
    worker: OrgoProcess
    admin_email: str
    admin_password: str = field(repr=False)

    def count(self, sql: str) -> int:
        return self.postgres.scalar(sql, self.database)

    def token(self, email: str | None = None, password: str | None = None) -> str:
        response = httpx.post(
            f"{self.api.url}/api/v1/auth/token",
            data={
                "username": email or self.admin_email,
                "password": password or self.admin_password,
            },
            timeout=10,
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token

    def headers(self, email: str | None = None, password: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(email, password)}"}

    def create_user(self) -> dict[str, Any]:
        """A regular user created through the API; returns its JSON plus its password."""
        password = secrets.token_urlsafe(16)
        email = f"user-{uuid.uuid4().hex[:10]}@example.com"
        response = httpx.post(
            f"{self.api.url}/api/v1/users",
            json={"email": email, "password": password},
            headers=self.headers(),
            timeout=10,
        )
        response.raise_for_status()
        return {**response.json(), "password": password}

    def wait_for_count(self, sql: str, expected: int, timeout: float = 60) -> None:
        wait_until(
            lambda: self.count(sql) >= expected,
            timeout,
            f"{expected} rows from: {sql}",
            interval=0.3,
        )
        assert self.count(sql) == expected, f"more than {expected} rows from: {sql}"

    def stop(self) -> None:
        self.api.stop()
        self.worker.stop()


def deploy(
    postgres: PostgresServer,
    redis: RedisServer | None,
    rabbitmq: RabbitmqServer | None,
    start_worker: bool = True,
    **settings: str,
) -> Deployment:
    name = f"orgo_{uuid.uuid4().hex[:10]}"
    database_url = postgres.create_database(name)
    amqp_url = rabbitmq.create_vhost(name) if rabbitmq else ""
    env = orgo_env(database_url, redis.url if redis else "", amqp_url, **settings)
    orgo(env, "migrate")
    password = secrets.token_urlsafe(16)
    email = f"admin-{name}@example.com"
    orgo(env, "user", "create", "--email", email, "--admin", stdin=password + "\n")
    api = OrgoProcess("api", env).start()
    worker = OrgoProcess("worker", env)
    if start_worker:
        worker.start()
    return Deployment(postgres, name, name if rabbitmq else None, env, api, worker, email, password)
