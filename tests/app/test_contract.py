"""The API's contract as clients and schemathesis read it: strict JSON types on every
request body, `Allow` naming every method of a path, and an OpenAPI document that says what
the API refuses and links created resources to the operations on them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.app.conftest import Api


@pytest.mark.parametrize(
    "body",
    [{"is_active": 0}, {"is_admin": 1}, {"is_admin": "true"}, {"is_active": None}, {"x": True}],
)
async def test_user_flags_are_strict_booleans(api: Api, body: dict[str, Any]) -> None:
    _, admin = await api.user_headers(admin=True)
    user = await api.make_user()
    refused = await api.client.patch(f"/api/v1/users/{user['id']}", json=body, headers=admin)
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"][-1] == next(iter(body))


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (
            {"email": "a@example.com", "password": "a long enough password", "is_admin": 0},
            "is_admin",
        ),
        (
            {"email": "a@example.com", "password": "a long enough password", "is_admin": "true"},
            "is_admin",
        ),
        ({"email": "a@example.com", "password": 123456789012345, "is_admin": False}, "password"),
    ],
)
async def test_user_creation_takes_json_types_only(
    api: Api, payload: dict[str, Any], field: str
) -> None:
    _, admin = await api.user_headers(admin=True)
    refused = await api.client.post("/api/v1/users", json=payload, headers=admin)
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"] == ["body", field]


async def test_uuids_datetimes_and_statuses_still_parse_from_json_strings(api: Api) -> None:
    _, headers = await api.user_headers()
    assignee = await api.make_user()
    created = await api.client.post(
        "/api/v1/tasks",
        json={"title": "t", "assignee_id": assignee["id"], "due_at": "2030-01-31T17:00:00+01:00"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["due_at"].startswith("2030-01-31T17:00:00")
    moved = await api.client.patch(
        f"/api/v1/tasks/{created.json()['id']}", json={"status": "in_progress"}, headers=headers
    )
    assert moved.status_code == 200 and moved.json()["status"] == "in_progress"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/v1/tasks", "GET, POST"),
        ("PUT", "/api/v1/tasks/00000000-0000-0000-0000-000000000000", "GET, PATCH, DELETE"),
        ("DELETE", "/api/v1/users", "GET, POST"),
        ("PUT", "/api/v1/users/me", "GET"),
        ("GET", "/api/v1/users/me/password", "POST"),
        ("POST", "/healthz", "GET"),
    ],
)
async def test_a_405_names_every_method_of_the_path(
    api: Api, method: str, path: str, allowed: str
) -> None:
    response = await api.client.request(method, path)
    assert response.status_code == 405
    assert response.headers["Allow"] == allowed
    assert response.json()["request_id"]


async def test_openapi_links_created_resources_to_their_operations(api: Api) -> None:
    document = api.app.openapi()
    operations = {
        operation["operationId"]: (path, method)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }
    tasks = document["paths"]["/api/v1/tasks"]["post"]["responses"]["201"]["links"]
    assert set(tasks) == {"get_task", "update_task", "delete_task", "task_activity"}
    users = document["paths"]["/api/v1/users"]["post"]["responses"]["201"]["links"]
    assert set(users) == {"update_user"}
    for link, parameter in [
        *((link, "task_id") for link in tasks.values()),
        (users["update_user"], "user_id"),
    ]:
        path, _ = operations[link["operationId"]]
        assert f"{{{parameter}}}" in path
        assert link["parameters"] == {parameter: "$response.body#/id"}


async def test_openapi_says_what_the_api_refuses(api: Api) -> None:
    document = api.app.openapi()
    paths, schemas = document["paths"], document["components"]["schemas"]
    for path, method in (("/api/v1/tasks", "post"), ("/api/v1/tasks/{task_id}", "patch")):
        responses = paths[path][method]["responses"]
        assert "no user" in responses["422"]["description"]
        assert "413" in responses
    assert "existing user" in schemas["TaskCreate"]["properties"]["assignee_id"]["description"]
    email = schemas["UserCreate"]["properties"]["email"]["description"]
    assert all(domain in email for domain in (".test", ".invalid", ".localhost", ".onion"))
    assert "429" in paths["/api/v1/auth/token"]["post"]["responses"]
    assert "429" in paths["/api/v1/users/me/password"]["post"]["responses"]
    update = schemas["TaskUpdate"]["properties"]
    assert all("anyOf" not in update[name] for name in ("title", "description", "status"))
    assert {"type": "null"} in update["assignee_id"]["anyOf"]
