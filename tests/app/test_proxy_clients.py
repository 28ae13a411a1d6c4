"""Behind reverse proxies, through a real `orgo api` (uvicorn): the client is the address a
trusted proxy forwarded, and the login limits are per real client.

The API trusts only 127.0.0.2 (ORGO_FORWARDED_ALLOW_IPS); the tests connect from
127.0.0.2 (a "proxy") or from 127.0.0.1 (any other peer), both loopback on Linux.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness.orgo import OrgoProcess, orgo, orgo_env
from tests.harness.processes import wait_until

PROXY = "127.0.0.2"
OTHER_PEER = "127.0.0.1"
PAIR_LIMIT = 3
CLIENT_LIMIT = 5


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrgoProcess]:
    database: Path = tmp_path_factory.mktemp("proxy") / "orgo.db"
    env = orgo_env(
        f"sqlite+aiosqlite:///{database}",
        ORGO_FORWARDED_ALLOW_IPS=f"{PROXY}/32",
        ORGO_LOGIN_MAX_ATTEMPTS=str(PAIR_LIMIT),
        ORGO_LOGIN_CLIENT_MAX_ATTEMPTS=str(CLIENT_LIMIT),
        ORGO_LOGIN_ACCOUNT_MAX_ATTEMPTS="50",
    )
    orgo(env, "migrate")
    process = OrgoProcess("api", env).start()
    yield process
    process.stop()


def user(api: OrgoProcess) -> tuple[str, str]:
    email, password = f"u-{uuid.uuid4().hex[:10]}@example.com", secrets.token_urlsafe(16)
    orgo(api.env, "user", "create", "--email", email, stdin=password)
    return email, password


def login(api: OrgoProcess, peer: str, email: str, password: str, forwarded: str) -> int:
    transport = httpx.HTTPTransport(local_address=peer)
    with httpx.Client(transport=transport, base_url=api.url, timeout=30) as client:
        return client.post(
            "/api/v1/auth/token",
            data={"username": email, "password": password},
            headers={"X-Forwarded-For": forwarded},
        ).status_code


def client_ip_logged(api: OrgoProcess, peer: str, forwarded: str) -> str:
    """The client address of the access-log line of one request."""
    request_id = uuid.uuid4().hex
    transport = httpx.HTTPTransport(local_address=peer)
    with httpx.Client(transport=transport, base_url=api.url) as client:
        client.get("/healthz", headers={"X-Forwarded-For": forwarded, "X-Request-ID": request_id})

    def line() -> dict[str, dict[str, str]] | None:
        for raw in api.logs().splitlines():
            entry = json.loads(raw)
            if entry.get("http", {}).get("request", {}).get("id") == request_id:
                return entry  # type: ignore[no-any-return]
        return None

    return wait_until(line, 10, "the access line")["client"]["ip"]


def test_forwarded_addresses_are_believed_only_from_the_configured_proxies(
    api: OrgoProcess,
) -> None:
    assert client_ip_logged(api, PROXY, "203.0.113.7") == "203.0.113.7"
    # Any other peer is the client itself, whatever it claims (127.0.0.1 included).
    assert client_ip_logged(api, OTHER_PEER, "203.0.113.8") == OTHER_PEER


def test_two_clients_behind_one_proxy_do_not_lock_each_other_out(api: OrgoProcess) -> None:
    email, password = user(api)
    for _ in range(PAIR_LIMIT):
        assert login(api, PROXY, email, "wrong password", "198.51.100.1") == 401
    assert login(api, PROXY, email, password, "198.51.100.1") == 429
    # Someone else behind the same proxy logs in to the same account.
    assert login(api, PROXY, email, password, "198.51.100.2") == 200


def test_spraying_many_accounts_from_one_address_is_refused(api: OrgoProcess) -> None:
    email, password = user(api)
    for _ in range(CLIENT_LIMIT):
        unknown = f"{uuid.uuid4().hex}@example.com"
        assert login(api, PROXY, unknown, "Winter2026!", "198.51.100.3") == 401
    assert login(api, PROXY, email, password, "198.51.100.3") == 429
    assert login(api, PROXY, email, password, "198.51.100.4") == 200


def test_a_peer_that_is_not_a_proxy_cannot_spray_behind_forged_addresses(
    api: OrgoProcess,
) -> None:
    email, password = user(api)
    for i in range(CLIENT_LIMIT):
        unknown = f"{uuid.uuid4().hex}@example.com"
        assert login(api, OTHER_PEER, unknown, "Winter2026!", f"192.0.2.{i + 1}") == 401
    assert login(api, OTHER_PEER, email, password, "192.0.2.99") == 429
