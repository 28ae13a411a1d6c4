"""Scripted traffic against a live API: the normal paths, client errors, and a server
failure while PostgreSQL is away (so error series and error log fields exist)."""

from __future__ import annotations

import uuid

import httpx

from tests.harness.processes import wait_until
from tests.harness.services import PostgresServer


def _login(client: httpx.Client, email: str, password: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", data={"username": email, "password": password})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def normal_use(client: httpx.Client, auth: dict[str, str], rounds: int) -> None:
    """Create, read three times (cache miss, Redis hit, local hit), list, update and delete
    tasks."""
    for i in range(rounds):
        created = client.post("/api/v1/tasks", json={"title": f"task {i}"}, headers=auth)
        assert created.status_code == 201, created.text
        task = created.json()["id"]
        for _ in range(3):
            assert client.get(f"/api/v1/tasks/{task}", headers=auth).status_code == 200
        assert client.get("/api/v1/tasks?limit=5", headers=auth).status_code == 200
        patched = client.patch(
            f"/api/v1/tasks/{task}", json={"status": "in_progress"}, headers=auth
        )
        assert patched.status_code == 200, patched.text
        assert client.get(f"/api/v1/tasks/{task}/activity", headers=auth).status_code == 200
        if i % 2:
            assert client.delete(f"/api/v1/tasks/{task}", headers=auth).status_code == 204
    assert client.get("/api/v1/users/me", headers=auth).status_code == 200
    assert client.get("/api/v1/notifications", headers=auth).status_code == 200


def client_errors(client: httpx.Client, auth: dict[str, str], email: str) -> None:
    bad_login = client.post("/api/v1/auth/token", data={"username": email, "password": "nope"})
    assert bad_login.status_code == 401
    assert client.get(f"/api/v1/tasks/{uuid.uuid4()}", headers=auth).status_code == 404
    assert client.post("/api/v1/tasks", json={}, headers=auth).status_code == 422
    assert client.get("/api/v1/tasks").status_code == 401


def _failed(client: httpx.Client, path: str, auth: dict[str, str]) -> bool:
    """True when the API answered 5xx or dropped the connection."""
    try:
        return client.get(path, headers=auth).status_code >= 500
    except httpx.TransportError:
        return True


def database_outage(client: httpx.Client, auth: dict[str, str], postgres: PostgresServer) -> int:
    """Stops PostgreSQL for a few requests; returns how many failed. Then recovers."""
    postgres.stop()
    try:
        failures = sum(_failed(client, f"/api/v1/tasks?offset={n}", auth) for n in range(3))
    finally:
        postgres.start()
    wait_until(
        lambda: not _failed(client, "/api/v1/tasks", auth),
        30,
        "the API to recover after PostgreSQL came back",
        0.5,
    )
    return failures


def drive(api_url: str, email: str, password: str, postgres: PostgresServer) -> int:
    """All of the above; returns the number of 5xx answers during the outage."""
    with httpx.Client(base_url=api_url, timeout=10) as client:
        auth = _login(client, email, password)
        normal_use(client, auth, rounds=6)
        client_errors(client, auth, email)
        failures = database_outage(client, auth, postgres)
        normal_use(client, auth, rounds=4)
    return failures
