"""Session-wide: the offline chart mirror where there is one, and throwaway data services,
started on first use and removed at the end."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from infra.artefacts import MIRROR_ENV
from tests.harness.services import PostgresServer, RabbitmqServer, RedisServer
from tests.harness.tiers import mark_tiers
from tests.infra.k8s_support import HELM_MIRROR


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_tiers(items)


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


@pytest.fixture(scope="session", autouse=True)
def chart_mirror() -> None:
    """The pinned charts and manifests come from the offline mirror beside the repository
    when there is one and ORGO_CHART_MIRROR names no other; without either, from upstream
    into the download cache (GitHub's runners), which fails offline with the resolver's
    message."""
    if (HELM_MIRROR / "index.json").is_file():
        os.environ.setdefault(MIRROR_ENV, str(HELM_MIRROR))
