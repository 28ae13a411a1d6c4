"""Users: admins create them, everyone reads their own profile."""

from __future__ import annotations

import uuid

import pytest

from tests.app.conftest import Api


async def test_admin_creates_a_user_who_can_then_log_in(api: Api) -> None:
    _, admin = await api.user_headers(admin=True)
    email = f"new-{uuid.uuid4().hex[:8]}@Example.com"
    created = await api.client.post(
        "/api/v1/users",
        json={"email": email, "password": "a long enough password"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["email"] == email.lower()
    assert body["is_admin"] is False
    assert "password" not in created.text and "password_hash" not in body
    assert (await api.login(email, "a long enough password"))["access_token"]


async def test_non_admin_cannot_create_users(api: Api) -> None:
    _, headers = await api.user_headers()
    response = await api.client.post(
        "/api/v1/users",
        json={"email": "x@example.com", "password": "a long enough password"},
        headers=headers,
    )
    assert response.status_code == 403


async def test_duplicate_email_is_a_conflict(api: Api) -> None:
    _, admin = await api.user_headers(admin=True)
    existing = await api.make_user()
    response = await api.client.post(
        "/api/v1/users",
        json={"email": existing["email"].upper(), "password": "a long enough password"},
        headers=admin,
    )
    assert response.status_code == 409
    assert existing["email"] in response.json()["detail"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email", "password": "a long enough password"}, "email"),
        ({"email": "ok@example.com", "password": "short"}, "password"),
        ({"email": "ok@example.com", "password": "a long enough password", "role": "x"}, "role"),
    ],
)
async def test_bad_user_payload_is_422_naming_the_field(
    api: Api, payload: dict[str, str], field: str
) -> None:
    _, admin = await api.user_headers(admin=True)
    response = await api.client.post("/api/v1/users", json=payload, headers=admin)
    assert response.status_code == 422
    fields = [error["loc"][-1] for error in response.json()["detail"]]
    assert field in fields
    assert "a long enough password" not in response.text, "submitted values are echoed back"
