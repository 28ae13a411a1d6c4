"""Request bodies over ORGO_MAX_BODY_BYTES get a 413 Problem naming the limit, before they
are read: in-process, and through a real `orgo api` (uvicorn) with raw HTTP/1.1, where a
declared length is refused before any body byte is sent and a chunked one while it streams.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app.conftest import Api
from tests.harness.orgo import OrgoProcess, orgo, orgo_env

DEFAULT_LIMIT = 1_048_576
PROCESS_LIMIT = 4096


def assert_refused(status: int, body: dict[str, Any], limit: int) -> None:
    assert status == 413, body
    assert f"limit of {limit} bytes" in body["detail"]
    assert "ORGO_MAX_BODY_BYTES" in body["detail"]
    assert body["request_id"]


@pytest.mark.asyncio(loop_scope="session")
async def test_bodies_over_the_default_limit_are_refused_without_a_token(api: Api) -> None:
    declared = await api.client.post(
        "/api/v1/tasks",
        content=b"{" + b" " * DEFAULT_LIMIT + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert_refused(declared.status_code, declared.json(), DEFAULT_LIMIT)
    form = await api.client.post(
        "/api/v1/auth/token", data={"username": "a@example.com", "password": "p" * DEFAULT_LIMIT}
    )
    assert_refused(form.status_code, form.json(), DEFAULT_LIMIT)

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"refresh_token": "'
        for _ in range(20):
            yield b"x" * 65_536
        yield b'"}'

    streamed = await api.client.post(
        "/api/v1/auth/refresh", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_refused(streamed.status_code, streamed.json(), DEFAULT_LIMIT)
    # At the limit, nothing changes: the body is read and judged as before.
    within = await api.client.post("/api/v1/auth/refresh", json={"refresh_token": "x" * 40})
    assert within.status_code == 401
    assert api.state.settings.max_body_bytes == DEFAULT_LIMIT


@pytest.fixture(scope="module")
def small_limit_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrgoProcess]:
    database: Path = tmp_path_factory.mktemp("body") / "orgo.db"
    env = orgo_env(f"sqlite+aiosqlite:///{database}", ORGO_MAX_BODY_BYTES=str(PROCESS_LIMIT))
    orgo(env, "migrate")
    process = OrgoProcess("api", env).start()
    yield process
    process.stop()


def raw_exchange(api: OrgoProcess, head: str, body_parts: list[bytes]) -> tuple[int, Any]:
    """Sends a request head and then the body parts; returns the status and JSON body."""
    with socket.create_connection(("127.0.0.1", api.port), timeout=15) as sock:
        sock.sendall(head.encode() + b"\r\n")
        for part in body_parts:
            sock.sendall(part)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, json.loads(response.read())


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def test_a_declared_length_over_the_limit_is_answered_before_the_body_is_sent(
    small_limit_api: OrgoProcess,
) -> None:
    head = (
        "POST /api/v1/auth/token HTTP/1.1\r\nHost: orgo\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000000\r\n"
    )
    # No body byte is ever sent: a server waiting to read it would never answer.
    status, body = raw_exchange(small_limit_api, head, [])
    assert_refused(status, body, PROCESS_LIMIT)


def test_a_chunked_upload_is_refused_once_it_passes_the_limit(
    small_limit_api: OrgoProcess,
) -> None:
    head = (
        "POST /api/v1/tasks HTTP/1.1\r\nHost: orgo\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n"
    )
    parts = [chunk(b'{"title": "'), *(chunk(b"x" * 1024) for _ in range(5)), chunk(b'"}')]
    status, body = raw_exchange(small_limit_api, head, [*parts, b"0\r\n\r\n"])
    assert_refused(status, body, PROCESS_LIMIT)
    # A chunked body within the limit reaches the app (which wants a token first).
    small = [chunk(b'{"title": "fits"}'), b"0\r\n\r\n"]
    status, body = raw_exchange(small_limit_api, head, small)
    assert status == 401, body
