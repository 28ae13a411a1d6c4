"""The API's local cache tier against a real Redis: copies are dropped when Redis reports a
change, never kept from a read that raced a change, and never served without tracking."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import redis.asyncio as aioredis

from orgo.core.local_cache import LocalCopies
from tests.harness.deployment import Deployment, deploy
from tests.harness.orgo import OrgoProcess
from tests.harness.processes import free_port, port_open, require_binary, stop_process, wait_until
from tests.harness.services import PostgresServer, RedisServer
from tests.playbooks.certificates import server_certificate

PREFIX = "test:local:"


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """This module's own Redis: its tests kill connections and stop the server."""
    server = RedisServer()
    yield server
    server.destroy()


async def eventually(condition: Callable[[], bool], what: str, timeout: float = 5) -> None:
    """Lets the event loop run (the copies are changed by its I/O callbacks) until true."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.01)


@pytest.fixture
async def writer(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


def copies_on(url: str, ttl: float = 60, capacity: int = 100) -> LocalCopies[str]:
    return LocalCopies(url, PREFIX, ttl, capacity, timeout=2)


@contextlib.asynccontextmanager
async def tracked(local: LocalCopies[str]) -> AsyncIterator[LocalCopies[str]]:
    """The copies with their tracking connection running and set up, stopped at the end."""
    tracking = asyncio.create_task(local.run())
    try:
        await eventually(lambda: local.live, "redis tracks the prefix")
        yield local
    finally:
        tracking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tracking


@pytest.fixture
async def copies(redis_server: RedisServer) -> AsyncIterator[LocalCopies[str]]:
    async with tracked(copies_on(redis_server.url)) as local:
        yield local


def keep(copies: LocalCopies[str], key: str, value: str) -> None:
    copies.keep(copies.ticket(), key, value)
    assert copies.get(key) == value


async def test_a_write_by_another_client_drops_the_copy(
    copies: LocalCopies[str], writer: aioredis.Redis
) -> None:
    for change in (writer.set(PREFIX + "a", "new"), writer.delete(PREFIX + "a")):
        keep(copies, PREFIX + "a", "old")
        keep(copies, PREFIX + "b", "other")
        await change
        await eventually(lambda: copies.get(PREFIX + "a") is None, "the copy is dropped")
        assert copies.get(PREFIX + "b") == "other"


async def test_keys_outside_the_prefix_are_not_reported(
    copies: LocalCopies[str], writer: aioredis.Redis
) -> None:
    keep(copies, PREFIX + "a", "old")
    ticket = copies.ticket()
    await writer.set("elsewhere:a", "x")
    await writer.set(PREFIX + "marker", "x")  # a change that is reported, after the other
    await eventually(lambda: copies.ticket() != ticket, "the marker's invalidation")
    assert copies.get(PREFIX + "a") == "old"


async def test_a_flush_drops_every_copy(copies: LocalCopies[str], writer: aioredis.Redis) -> None:
    keep(copies, PREFIX + "a", "1")
    keep(copies, PREFIX + "b", "2")
    await writer.flushdb()
    await eventually(lambda: copies.get(PREFIX + "a") is None, "the flush's invalidation")
    assert copies.get(PREFIX + "b") is None


async def test_a_read_that_raced_a_change_is_not_kept(
    copies: LocalCopies[str], writer: aioredis.Redis
) -> None:
    ticket = copies.ticket()  # taken as a Redis read is sent ...
    await writer.set(PREFIX + "a", "new")
    await eventually(lambda: copies.ticket() != ticket, "the write's invalidation")
    copies.keep(ticket, PREFIX + "a", "old")  # ... and its answer arrives after the change
    assert copies.get(PREFIX + "a") is None
    copies.drop(PREFIX + "b")  # the process's own writes count as changes too
    copies.keep(copies.ticket(), PREFIX + "b", "kept")
    stale = copies.ticket()
    copies.drop(PREFIX + "b")
    copies.keep(stale, PREFIX + "b", "old")
    assert copies.get(PREFIX + "b") is None


async def test_losing_the_connection_drops_every_copy_until_tracked_again(
    copies: LocalCopies[str], writer: aioredis.Redis
) -> None:
    keep(copies, PREFIX + "a", "old")
    ticket = copies.ticket()
    await writer.client_kill_filter(_type="normal", skipme=True)  # every other connection
    await eventually(lambda: not copies.live, "the loss is noticed")
    assert copies.get(PREFIX + "a") is None
    assert copies.ticket() is None
    await eventually(lambda: copies.live, "tracked again", timeout=10)
    copies.keep(ticket, PREFIX + "a", "from before the loss")
    assert copies.get(PREFIX + "a") is None
    keep(copies, PREFIX + "a", "after")


async def test_copies_expire_and_their_number_is_bounded(redis_server: RedisServer) -> None:
    async with tracked(copies_on(redis_server.url, ttl=0.2, capacity=2)) as local:
        for name in ("a", "b", "c"):
            local.keep(local.ticket(), PREFIX + name, name)
        assert local.get(PREFIX + "a") is None  # the oldest made room
        assert (local.get(PREFIX + "b"), local.get(PREFIX + "c")) == ("b", "c")
        await asyncio.sleep(0.3)
        assert local.get(PREFIX + "b") is None


async def test_a_wrong_password_keeps_the_tier_off_and_says_why(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = redis_server.url.replace(redis_server.password, "not-the-password")
    local = copies_on(wrong)
    with caplog.at_level(logging.WARNING, logger="orgo.core.local_cache"):
        tracking = asyncio.create_task(local.run())
        await eventually(lambda: "WRONGPASS" in caplog.text, "the refusal is logged")
        tracking.cancel()
    local.keep(local.ticket(), PREFIX + "a", "x")
    assert not local.live and local.get(PREFIX + "a") is None
    assert "local cache off" in caplog.text
    assert "not-the-password" not in caplog.text


# --- two API processes on one database and one Redis -------------------------------------


@pytest.fixture(scope="module")
def two_apis(
    postgres: PostgresServer, redis_server: RedisServer
) -> Iterator[tuple[Deployment, OrgoProcess, RedisServer]]:
    deployment = deploy(postgres, redis_server, None, start_worker=False)
    reader = OrgoProcess("api", deployment.env).start()
    yield deployment, reader, redis_server
    reader.stop()
    deployment.stop()


def served_locally(api: OrgoProcess, url: str, headers: dict[str, str]) -> dict[str, str]:
    """Reads the task until the process serves it from its own copy; returns that read."""
    before = api.metric("orgo_cache_local_hits_total")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        body: dict[str, str] = httpx.get(url, headers=headers).raise_for_status().json()
        if api.metric("orgo_cache_local_hits_total") > before:
            return body
        time.sleep(0.05)
    raise AssertionError("no read served from the local copy within 20s")


def new_task(deployment: Deployment, title: str) -> tuple[str, dict[str, str]]:
    """A task created through the deployment's API: its path, and the headers to read it."""
    headers = deployment.headers()
    created = httpx.post(
        f"{deployment.api.url}/api/v1/tasks", json={"title": title}, headers=headers
    ).raise_for_status()
    return f"/api/v1/tasks/{created.json()['id']}", headers


def test_a_write_through_one_process_is_read_back_through_the_other(
    two_apis: tuple[Deployment, OrgoProcess, RedisServer],
) -> None:
    deployment, reader, _ = two_apis
    path, headers = new_task(deployment, "v0")
    for version in range(1, 21):
        assert served_locally(reader, reader.url + path, headers)["title"] == f"v{version - 1}"
        httpx.patch(
            deployment.api.url + path, json={"title": f"v{version}"}, headers=headers
        ).raise_for_status()
        assert httpx.get(reader.url + path, headers=headers).json()["title"] == f"v{version}"


def test_with_redis_gone_no_process_serves_its_old_copy(
    two_apis: tuple[Deployment, OrgoProcess, RedisServer],
) -> None:
    deployment, reader, redis = two_apis
    path, headers = new_task(deployment, "before")
    served_locally(reader, reader.url + path, headers)
    redis.stop()
    try:
        # The writer cannot tell Redis; the reader must not trust the copy it kept.
        httpx.patch(
            deployment.api.url + path, json={"title": "after"}, headers=headers
        ).raise_for_status()
        assert httpx.get(reader.url + path, headers=headers).json()["title"] == "after"
    finally:
        redis.start()
    wait_until(lambda: httpx.get(f"{reader.url}/readyz").status_code == 200, 30, "readiness")
    served_locally(reader, reader.url + path, headers)  # the tier comes back by itself


# --- Redis over TLS, with a CA of its own (as the hosts' redis.conf has it) ---------------


@dataclass(frozen=True)
class TlsRedis:
    url: str  # rediss://, no CA named
    ca_file: Path


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsRedis]:
    """redis-server with only a TLS port, its certificate signed by a CA of the test's."""
    directory = tmp_path_factory.mktemp("tls-redis")
    tls = server_certificate(directory, ["127.0.0.1"])
    port, password = free_port(), secrets.token_urlsafe(16)
    config = directory / "redis.conf"
    config.write_text(
        f'port 0\ntls-port {port}\nbind 127.0.0.1\nsave ""\nappendonly no\n'
        f"tls-cert-file {tls.certificate}\ntls-key-file {tls.key}\ntls-ca-cert-file {tls.ca}\n"
        f"tls-auth-clients no\nrequirepass {password}\ndir {directory}\n"
    )
    binary = require_binary("redis-server", "redis-server")
    with (directory / "redis.log").open("ab") as log:
        server = subprocess.Popen([binary, str(config)], stdout=log, stderr=log)
    try:
        wait_until(lambda: port_open(port), 15, f"redis (TLS) on port {port}")
        yield TlsRedis(f"rediss://:{password}@127.0.0.1:{port}/0", tls.ca)
    finally:
        stop_process(server)


async def test_tracking_over_tls_verifies_against_the_urls_ca(tls_redis: TlsRedis) -> None:
    """The tracking connection trusts the CA the URL names for redis-py (ssl_ca_certs),
    as the API's Redis client does; a write through that client drops the copy."""
    url = f"{tls_redis.url}?ssl_ca_certs={quote(str(tls_redis.ca_file))}"
    writer = aioredis.Redis.from_url(url)
    try:
        async with tracked(copies_on(url)) as local:
            keep(local, PREFIX + "tls", "old")
            await writer.set(PREFIX + "tls", "new")
            await eventually(lambda: local.get(PREFIX + "tls") is None, "the copy is dropped")
    finally:
        await writer.aclose()


async def test_tracking_over_tls_refuses_a_server_its_ca_did_not_sign(
    tls_redis: TlsRedis, caplog: pytest.LogCaptureFixture
) -> None:
    """Without the URL's CA (the system's trust store), the server's certificate fails
    verification and the tier stays off."""
    local = copies_on(tls_redis.url)
    with caplog.at_level(logging.WARNING, logger="orgo.core.local_cache"):
        tracking = asyncio.create_task(local.run())
        try:
            await eventually(
                lambda: "CERTIFICATE_VERIFY_FAILED" in caplog.text, "the refusal is logged"
            )
        finally:
            tracking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await tracking
    assert not local.live
