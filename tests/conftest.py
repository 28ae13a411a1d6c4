"""Session-wide throwaway data services, started on first use and removed at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.services import PostgresServer, RabbitmqServer, RedisServer


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.destroy()


@pytest.fixture(scope="session")
def rabbitmq() -> Iterator[RabbitmqServer]:
    server = RabbitmqServer()
    yield server
    server.destroy()
