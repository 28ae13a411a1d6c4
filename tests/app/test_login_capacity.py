"""Password hashing runs off the event loop: while a flood of logins is being hashed (with
production-strength Argon2), other requests are still served, and the logins beyond the
process's budget are refused at once, before any hashing."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from orgo.migrations.runner import upgrade_to_head
from tests.app.conftest import Api, make_settings, running_api

CONCURRENCY = 1
MAX_WAITING = 2
GATE_TIMEOUT_SECONDS = 20  # only ever reached when hashing blocks the event loop


@pytest.fixture(scope="module")
async def expensive_api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    path: Path = tmp_path_factory.mktemp("capacity") / "orgo.db"
    settings = make_settings(f"sqlite+aiosqlite:///{path}").model_copy(
        update={
            "argon2_time_cost": 3,
            "argon2_memory_cost_kib": 65_536,
            "argon2_parallelism": 4,
            "login_concurrency": CONCURRENCY,
            "login_max_waiting": MAX_WAITING,
        }
    )
    await asyncio.to_thread(upgrade_to_head, settings)
    async with running_api(settings) as running:
        yield running


class GatedVerify:
    """Passwords.verify that first waits for the test to open the gate; counts the calls
    and how many are inside it right now."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.gate = threading.Event()
        self.calls = 0
        self.inside = 0

    def __call__(self, *args: Any) -> bool:
        self.calls += 1
        self.inside += 1
        try:
            self.gate.wait(GATE_TIMEOUT_SECONDS)
            result: bool = self._real(*args)
            return result
        finally:
            self.inside -= 1


async def until(condition: Any, what: str) -> None:
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def test_requests_are_served_while_logins_hash_and_extra_logins_are_refused(
    expensive_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = expensive_api
    passwords = api.state.auth.passwords
    verify = GatedVerify(passwords.verify)
    monkeypatch.setattr(passwords, "verify", verify)

    async def login(index: int) -> int:
        # Unknown accounts: their dummy-hash check takes the same path as a real one.
        async with api.client_from(f"192.0.2.{index}") as client:
            response = await client.post(
                "/api/v1/auth/token",
                data={"username": f"{uuid.uuid4().hex}@example.com", "password": "guess"},
            )
        return response.status_code

    flood = [asyncio.create_task(login(i + 1)) for i in range(CONCURRENCY + MAX_WAITING)]
    try:
        await until(lambda: verify.calls >= CONCURRENCY, "the first logins are hashing")
        for _ in range(3):
            assert (await api.client.get("/healthz")).status_code == 200
        # Served while the hash it had to wait behind is still running, not after it.
        assert verify.inside == CONCURRENCY, "/healthz was answered only after the hashing"
        assert not any(task.done() for task in flood), "a login finished before /healthz"

        # The budget is taken: one more login is refused at once, before any hashing.
        refused = await api.client.post(
            "/api/v1/auth/token", data={"username": "x@example.com", "password": "guess"}
        )
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "1"
        assert "in progress" in refused.json()["detail"]
        assert verify.calls == CONCURRENCY
    finally:
        verify.gate.set()
    assert await asyncio.gather(*flood) == [401] * len(flood)
    assert verify.calls == len(flood)
