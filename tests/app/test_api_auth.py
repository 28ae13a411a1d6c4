"""Log in, refresh rotation with reuse detection, logout, rate limiting, rehash on login."""

from __future__ import annotations

import uuid

from argon2 import PasswordHasher
from sqlalchemy import select

from orgo.core.db import transaction
from orgo.models import User
from tests.app.conftest import PASSWORD, Api


async def test_login_returns_access_and_refresh_tokens(api: Api) -> None:
    user = await api.make_user()
    tokens = await api.login(user["email"])
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == api.state.settings.access_token_ttl_seconds
    me = await api.client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["email"] == user["email"]


async def test_login_with_a_wrong_password_or_unknown_account_is_401(api: Api) -> None:
    user = await api.make_user()
    for username, password in (
        (user["email"], "not the password"),
        ("nobody@example.com", PASSWORD),
    ):
        response = await api.client.post(
            "/api/v1/auth/token", data={"username": username, "password": password}
        )
        assert response.status_code == 401
        assert response.json()["detail"] == "incorrect e-mail or password"
        assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_refresh_rotates_and_reuse_revokes_the_whole_family(api: Api) -> None:
    user = await api.make_user()
    first = await api.login(user["email"])
    rotated = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]

    # The first token was rotated: presenting it again is a replay...
    replay = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert replay.status_code == 401
    # ...which revokes its whole family, including the token issued by the rotation.
    after = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert after.status_code == 401

    # Another login starts a new, unaffected family.
    fresh = await api.login(user["email"])
    ok = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]}
    )
    assert ok.status_code == 200


async def test_logout_revokes_the_refresh_token(api: Api) -> None:
    user = await api.make_user()
    tokens = await api.login(user["email"])
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    out = await api.client.post(
        "/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}, headers=headers
    )
    assert out.status_code == 204
    refreshed = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 401


async def test_unknown_refresh_token_is_401(api: Api) -> None:
    response = await api.client.post("/api/v1/auth/refresh", json={"refresh_token": "x" * 40})
    assert response.status_code == 401


async def test_failed_logins_are_rate_limited_per_account_and_client(api: Api) -> None:
    user = await api.make_user()
    limit = api.state.settings.login_max_attempts
    for _ in range(limit):
        bad = await api.client.post(
            "/api/v1/auth/token", data={"username": user["email"], "password": "wrong password"}
        )
        assert bad.status_code == 401
    # Even the right password is refused while the account+client is locked out.
    locked = await api.client.post(
        "/api/v1/auth/token", data={"username": user["email"], "password": PASSWORD}
    )
    assert locked.status_code == 429
    retry_after = int(locked.headers["Retry-After"])
    assert 0 < retry_after <= api.state.settings.login_window_seconds
    # Another account from the same client is not affected.
    other = await api.make_user()
    assert (await api.login(other["email"]))["access_token"]


async def test_login_rehashes_a_password_hashed_with_old_parameters(api: Api) -> None:
    user = await api.make_user()
    old_hasher = PasswordHasher(time_cost=2, memory_cost=8192, parallelism=1)
    async with transaction(api.state.sessions) as session:
        row = await session.get(User, uuid.UUID(user["id"]))
        assert row is not None
        row.password_hash = old_hasher.hash(PASSWORD)
    await api.login(user["email"])
    async with api.state.sessions() as session:
        stored = await session.scalar(select(User.password_hash).where(User.email == user["email"]))
    assert stored is not None
    assert "t=1," in stored, "the hash was not upgraded to the configured parameters"
    assert not api.state.auth.passwords.needs_rehash(stored)
