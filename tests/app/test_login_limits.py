"""Login limits: one normal form of the account name, attempts counted before the password
is checked (atomically, in Redis and in the fallback), a doubling delay per account."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from orgo.core.config import Settings
from orgo.core.ratelimit import LoginThrottle
from orgo.core.redis import RedisGateway
from orgo.errors import TooManyAttempts
from orgo.migrations.runner import upgrade_to_head
from orgo.schemas import UserCreate
from orgo.services.users import normalise_email
from tests.app.conftest import PASSWORD, Api, make_settings, running_api
from tests.harness.processes import free_port
from tests.harness.services import RedisServer

in_session_loop = pytest.mark.asyncio(loop_scope="session")

# Unicode's White_Space property (PropList.txt), the separators str.isspace adds to it, and
# the invisible characters that are not whitespace but get pasted around addresses.
WHITE_SPACE = [
    *map(chr, range(0x09, 0x0E)),
    " ",
    "\x85",
    "\xa0",
    "\u1680",
    *map(chr, range(0x2000, 0x200B)),
    "\u2028",
    "\u2029",
    "\u202f",
    "\u205f",
    "\u3000",
]
SEPARATORS = ["\x1c", "\x1d", "\x1e", "\x1f"]
INVISIBLE = ["\u180e", "\u200b", "\u2060", "\ufeff"]


def variants(email: str) -> list[str]:
    """The same account name with every edge character, and in other cases."""
    padded = [f"{c}{email}" for c in WHITE_SPACE + SEPARATORS + INVISIBLE]
    padded += [f"{email}{c}" for c in WHITE_SPACE + SEPARATORS + INVISIBLE]
    return [*padded, email.upper(), email.title(), f" \u3000{email.upper()}\u200b\t"]


async def _login(api: Api, address: str, email: str, password: str) -> int:
    async with api.client_from(address) as client:
        response = await client.post(
            "/api/v1/auth/token", data={"username": email, "password": password}
        )
    return response.status_code


def test_every_variant_normalises_to_the_stored_form() -> None:
    assert len(WHITE_SPACE) == 25
    for variant in variants("Someone@Example.com"):
        assert normalise_email(variant) == "someone@example.com", repr(variant)


@pytest.mark.parametrize("character", WHITE_SPACE + SEPARATORS + INVISIBLE)
def test_no_stored_address_can_hold_an_edge_character(character: str) -> None:
    """What normalise_email drops, e-mail validation never lets into an address (it refuses
    it, or strips it off the ends), so every address stored as `strip().lower()` is already
    in the new normal form: no migration."""
    for email in (
        f"{character}ab@example.com",
        f"ab@example.com{character}",
        f"a{character}b@x.org",
    ):
        try:
            accepted = str(UserCreate.model_validate({"email": email, "password": PASSWORD}).email)
        except ValueError:
            continue
        stored = accepted.strip().lower()  # what create_user stored before this change
        assert character not in stored
        assert normalise_email(stored) == stored


@in_session_loop
async def test_every_variant_of_an_account_name_shares_its_limit(api: Api) -> None:
    user = await api.make_user()
    address = f"192.0.2.{uuid.uuid4().int % 250 + 1}"
    limit = api.state.settings.login_max_attempts
    names = variants(user["email"])
    for name in names[:limit]:
        assert await _login(api, address, name, "wrong password") == 401
    # Another spelling of the same account gets no fresh attempts...
    assert await _login(api, address, names[-1], PASSWORD) == 429
    assert await _login(api, address, user["email"], PASSWORD) == 429
    # ...and each spelling finds the account (lookup and limit agree on the name).
    other = await api.make_user()
    spelling = f" \u3000{other['email'].upper()}\u200b\t"
    assert await _login(api, "192.0.2.254", spelling, PASSWORD) == 200


def counting_verifications(api: Api, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Wraps the app's Passwords.verify; every call appends to the returned list."""
    passwords = api.state.auth.passwords
    real: Callable[..., bool] = passwords.verify
    calls: list[int] = []

    def verify(*args: Any) -> bool:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(passwords, "verify", verify)
    return calls


async def concurrent_guesses(api: Api, monkeypatch: pytest.MonkeyPatch, guesses: int) -> None:
    user = await api.make_user()
    calls = counting_verifications(api, monkeypatch)
    address = f"198.51.100.{uuid.uuid4().int % 250 + 1}"
    statuses = await asyncio.gather(
        *(_login(api, address, user["email"], f"guess {i}") for i in range(guesses))
    )
    limit = api.state.settings.login_max_attempts
    assert len(calls) <= limit, f"{len(calls)} of {guesses} guesses reached password checking"
    assert sorted(statuses) == [401] * len(calls) + [429] * (guesses - len(calls))


@in_session_loop
async def test_concurrent_guesses_reach_password_checks_no_more_than_the_limit(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL + Redis: Redis' counters; on SQLite (no Redis): the fallback."""
    await concurrent_guesses(api, monkeypatch, guesses=20)


@pytest.fixture(scope="module")
async def redis_down_api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    """The app with a Redis URL nothing answers on: every limit falls back to this process."""
    path: Path = tmp_path_factory.mktemp("redis-down") / "orgo.db"
    settings = make_settings(f"sqlite+aiosqlite:///{path}", f"redis://127.0.0.1:{free_port()}/0")
    await asyncio.to_thread(upgrade_to_head, settings)
    async with running_api(settings) as running:
        yield running


@in_session_loop
async def test_concurrent_guesses_with_redis_down_are_limited_by_the_fallback(
    redis_down_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    await concurrent_guesses(redis_down_api, monkeypatch, guesses=20)


@in_session_loop
async def test_a_successful_login_is_not_counted_against_anyone(api: Api) -> None:
    user = await api.make_user()
    address = f"203.0.113.{uuid.uuid4().int % 250 + 1}"
    settings = api.state.settings
    for _ in range(2):
        for _ in range(settings.login_max_attempts - 1):
            assert await _login(api, address, user["email"], "wrong password") == 401
        # The right password clears the account's failures, its own attempt included.
        assert await _login(api, address, user["email"], PASSWORD) == 200
    # Successes do not use up the client address's budget either.
    for _ in range(settings.login_client_max_attempts + 1):
        assert await _login(api, address, user["email"], PASSWORD) == 200


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["redis", "redis-down"])
def gateway(request: pytest.FixtureRequest) -> RedisGateway:
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        return RedisGateway(Settings(redis_url=server.url))
    return RedisGateway(Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0"))


@in_session_loop
async def test_past_the_account_limit_each_attempt_waits_a_doubling_delay(
    gateway: RedisGateway,
) -> None:
    """Across client addresses: a delay after every failure, not a lock held by counting."""
    settings = Settings(
        login_max_attempts=100,
        login_client_max_attempts=100,
        login_account_max_attempts=3,
        login_window_seconds=20,
    )
    clock = Clock()
    throttle = LoginThrottle(gateway, settings, clock)
    account = f"{uuid.uuid4().hex}@example.com"
    addresses = iter(f"10.0.{i // 250}.{i % 250}" for i in range(1000))

    async def refused_for() -> int | None:
        try:
            await throttle.begin(account, next(addresses))
        except TooManyAttempts as refused:
            return refused.retry_after
        return None

    for _ in range(3):
        assert await refused_for() is None
    for delay in (1, 2, 4, 8, 16, 20, 20):  # doubling, at most the window
        assert await refused_for() == delay
        clock.now += delay - 0.5
        assert await refused_for() == 1, "refused attempts must not move the delay"
        clock.now += 0.5
        assert await refused_for() is None
    # A success from anywhere clears the account: no delay at all afterwards.
    clock.now += 20
    attempt = await throttle.begin(account, next(addresses))
    await throttle.succeeded(attempt)
    for _ in range(3):
        assert await refused_for() is None
    await gateway.close()
