"""Session control: password change, admin deactivation/promotion and the user list; ending
every session of a user (refresh families and access tokens); refresh families' absolute
lifetime."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from orgo.core.db import transaction
from orgo.core.security import refresh_token_digest
from orgo.migrations.runner import upgrade_to_head
from orgo.models import RefreshToken, User, utcnow
from tests.app.conftest import PASSWORD, Api, make_settings, running_api
from tests.harness.services import PostgresServer

NEW_PASSWORD = "a completely different passphrase"


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def still_works(api: Api, tokens: dict[str, Any]) -> tuple[int, int]:
    """(GET /users/me with the access token, POST /auth/refresh with the refresh token)."""
    me = await api.client.get("/api/v1/users/me", headers=bearer(tokens))
    refreshed = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    return me.status_code, refreshed.status_code


async def test_a_password_change_ends_every_session_of_the_user(api: Api) -> None:
    user = await api.make_user()
    first, second = await api.login(user["email"]), await api.login(user["email"])
    url = "/api/v1/users/me/password"
    wrong = await api.client.post(
        url,
        json={"current_password": "not it", "new_password": NEW_PASSWORD},
        headers=bearer(first),
    )
    assert (
        wrong.status_code == 403 and wrong.json()["detail"] == "the current password is incorrect"
    )
    short = await api.client.post(
        url, json={"current_password": PASSWORD, "new_password": "short"}, headers=bearer(first)
    )
    assert short.status_code == 422 and short.json()["detail"][0]["loc"] == ["body", "new_password"]
    assert await still_works(api, second) == (200, 200)

    changed = await api.client.post(
        url,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(first),
    )
    assert changed.status_code == 204, changed.text
    assert await still_works(api, first) == (401, 401)  # this very session too
    old = await api.client.post(
        "/api/v1/auth/token", data={"username": user["email"], "password": PASSWORD}
    )
    assert old.status_code == 401
    fresh = await api.login(user["email"], NEW_PASSWORD)
    assert (await still_works(api, fresh))[0] == 200


async def test_wrong_current_passwords_are_limited_like_logins(api: Api) -> None:
    user = await api.make_user()
    tokens = await api.login(user["email"])
    address = f"192.0.2.{uuid.uuid4().int % 200 + 20}"
    async with api.client_from(address) as client:
        for _ in range(api.state.settings.login_max_attempts):
            wrong = await client.post(
                "/api/v1/users/me/password",
                json={"current_password": "guess", "new_password": NEW_PASSWORD},
                headers=bearer(tokens),
            )
            assert wrong.status_code == 403
        limited = await client.post(
            "/api/v1/users/me/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers=bearer(tokens),
        )
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
        # The same counters as logins: this address cannot log in to the account either.
        login = await client.post(
            "/api/v1/auth/token", data={"username": user["email"], "password": PASSWORD}
        )
        assert login.status_code == 429


async def test_deactivation_ends_every_session_and_reactivation_allows_logging_in(
    api: Api,
) -> None:
    _, admin = await api.user_headers(admin=True)
    user = await api.make_user()
    tokens = await api.login(user["email"])
    url = f"/api/v1/users/{user['id']}"
    off = await api.client.patch(url, json={"is_active": False}, headers=admin)
    assert off.status_code == 200 and off.json()["is_active"] is False
    assert await still_works(api, tokens) == (401, 401)
    refused = await api.client.post(
        "/api/v1/auth/token", data={"username": user["email"], "password": PASSWORD}
    )
    assert refused.status_code == 401
    assert refused.json()["detail"] == "incorrect e-mail or password"  # same as unknown
    on = await api.client.patch(url, json={"is_active": True}, headers=admin)
    assert on.status_code == 200 and on.json()["is_active"] is True
    assert (await still_works(api, await api.login(user["email"])))[0] == 200


async def test_admins_promote_and_demote_others_but_not_themselves(api: Api) -> None:
    me, admin = await api.user_headers(admin=True)
    other = await api.make_user()
    url = f"/api/v1/users/{other['id']}"
    promoted = await api.client.patch(url, json={"is_admin": True}, headers=admin)
    assert promoted.status_code == 200 and promoted.json()["is_admin"] is True
    demoted = await api.client.patch(url, json={"is_admin": False}, headers=admin)
    assert demoted.status_code == 200 and demoted.json()["is_admin"] is False
    for change in ({"is_admin": False}, {"is_active": False}):
        refused = await api.client.patch(f"/api/v1/users/{me['id']}", json=change, headers=admin)
        assert refused.status_code == 409 and "themselves" in refused.json()["detail"]
    assert (await api.client.get("/api/v1/users/me", headers=admin)).json()["is_admin"] is True
    missing = await api.client.patch(
        f"/api/v1/users/{uuid.uuid4()}", json={"is_active": False}, headers=admin
    )
    assert missing.status_code == 404
    _, regular = await api.user_headers()
    assert (
        await api.client.patch(url, json={"is_admin": True}, headers=regular)
    ).status_code == 403


async def test_admins_list_users_page_by_page(api: Api) -> None:
    _, admin = await api.user_headers(admin=True)
    made = {(await api.make_user())["id"] for _ in range(3)}
    total = (await api.client.get("/api/v1/users", params={"limit": 1}, headers=admin)).json()
    assert total["limit"] == 1 and len(total["items"]) == 1 and total["total"] >= 4
    seen: set[str] = set()
    for offset in range(0, total["total"], 100):
        page = await api.client.get(
            "/api/v1/users", params={"limit": 100, "offset": offset}, headers=admin
        )
        seen |= {item["id"] for item in page.json()["items"]}
        assert all("password" not in key for item in page.json()["items"] for key in item)
    assert made <= seen and len(seen) == total["total"]
    too_many = await api.client.get("/api/v1/users", params={"limit": 101}, headers=admin)
    assert too_many.status_code == 422
    _, regular = await api.user_headers()
    assert (await api.client.get("/api/v1/users", headers=regular)).status_code == 403


async def _backdate_family(api: Api, refresh_token: str, age: timedelta) -> None:
    async with transaction(api.state.sessions) as session:
        family = await session.scalar(
            select(RefreshToken.family_id).where(
                RefreshToken.token_hash == refresh_token_digest(refresh_token)
            )
        )
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family)
            .values(family_started_at=utcnow() - age)
        )


async def test_rotation_never_extends_a_family_past_its_absolute_lifetime(api: Api) -> None:
    user = await api.make_user()
    tokens = await api.login(user["email"])
    maximum = timedelta(seconds=api.state.settings.refresh_family_max_seconds)
    await _backdate_family(api, tokens["refresh_token"], maximum - timedelta(hours=1))
    rotated = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert rotated.status_code == 200
    async with api.state.sessions() as session:
        newest = await session.scalar(
            select(RefreshToken)
            .join(User, User.id == RefreshToken.user_id)
            .where(User.email == user["email"], RefreshToken.rotated_at.is_(None))
        )
    assert newest is not None
    assert newest.expires_at <= newest.family_started_at + maximum
    assert newest.expires_at < utcnow() + timedelta(hours=1), "rotation renewed the family"
    # Once the family is older than the maximum, its token no longer refreshes.
    await _backdate_family(api, rotated.json()["refresh_token"], maximum + timedelta(seconds=1))
    ended = await api.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]}
    )
    assert ended.status_code == 401


@pytest.fixture(params=["postgres", "sqlite"])
async def fresh_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Api]:
    """An app on a database of its own, so it can hold exactly the admins a test makes."""
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.create_database(f"orgo_admins_{uuid.uuid4().hex[:8]}")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('admins') / 'orgo.db'}"
    settings = make_settings(url)
    await asyncio.to_thread(upgrade_to_head, settings)
    async with running_api(settings) as running:
        yield running


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(fresh_api: Api) -> None:
    api = fresh_api
    (first, first_headers), (second, second_headers) = [
        await api.user_headers(admin=True) for _ in range(2)
    ]
    results = await asyncio.gather(
        api.client.patch(
            f"/api/v1/users/{second['id']}", json={"is_admin": False}, headers=first_headers
        ),
        api.client.patch(
            f"/api/v1/users/{first['id']}", json={"is_admin": False}, headers=second_headers
        ),
    )
    statuses = sorted(response.status_code for response in results)
    assert statuses in ([200, 409], [200, 403]), [r.text for r in results]
    refused = next(r for r in results if r.status_code != 200)
    if refused.status_code == 409:
        assert "last active admin" in refused.json()["detail"]
    async with api.state.sessions() as session:
        admins = await session.scalars(
            select(User.id).where(User.is_admin.is_(True), User.is_active.is_(True))
        )
        assert len(list(admins)) == 1
