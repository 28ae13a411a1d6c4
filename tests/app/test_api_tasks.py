"""Tasks: CRUD, visibility, transitions, filters, pagination, and the outbox rows written."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from orgo.core.db import transaction
from orgo.models import OutboxEvent, TaskActivity
from tests.app.conftest import Api


async def _create(api: Api, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = await api.client.post(
        "/api/v1/tasks", json={"title": "t", **fields}, headers=headers
    )
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


async def _events(api: Api, task_id: str) -> list[str]:
    async with api.state.sessions() as session:
        rows = await session.scalars(
            select(OutboxEvent.event_type)
            .where(OutboxEvent.aggregate_id == uuid.UUID(task_id))
            .order_by(OutboxEvent.created_at)
        )
        return list(rows)


async def test_task_lifecycle_writes_one_outbox_event_per_change(api: Api) -> None:
    owner, headers = await api.user_headers()
    task = await _create(api, headers, title="Write the runbook", description="for the DLQ")
    assert task["status"] == "todo"
    assert task["owner_id"] == owner["id"]

    fetched = await api.client.get(f"/api/v1/tasks/{task['id']}", headers=headers)
    assert fetched.json() == task

    moved = await api.client.patch(
        f"/api/v1/tasks/{task['id']}", json={"status": "in_progress"}, headers=headers
    )
    assert moved.status_code == 200
    assert moved.json()["status"] == "in_progress"
    # The read after the write sees the change (the cached copy was dropped).
    again = await api.client.get(f"/api/v1/tasks/{task['id']}", headers=headers)
    assert again.json()["status"] == "in_progress"

    no_change = await api.client.patch(
        f"/api/v1/tasks/{task['id']}", json={"status": "in_progress"}, headers=headers
    )
    assert no_change.status_code == 200

    deleted = await api.client.delete(f"/api/v1/tasks/{task['id']}", headers=headers)
    assert deleted.status_code == 204
    gone = await api.client.get(f"/api/v1/tasks/{task['id']}", headers=headers)
    assert gone.status_code == 404
    assert await _events(api, task["id"]) == ["task.created", "task.updated", "task.deleted"]


async def test_users_see_their_own_and_assigned_tasks_admins_see_all(api: Api) -> None:
    owner, owner_headers = await api.user_headers()
    assignee, assignee_headers = await api.user_headers()
    _, stranger_headers = await api.user_headers()
    _, admin_headers = await api.user_headers(admin=True)
    task = await _create(api, owner_headers, assignee_id=assignee["id"])
    url = f"/api/v1/tasks/{task['id']}"

    assert (await api.client.get(url, headers=assignee_headers)).status_code == 200
    assert (await api.client.get(url, headers=admin_headers)).status_code == 200
    hidden = await api.client.get(url, headers=stranger_headers)
    assert hidden.status_code == 404
    assert (
        await api.client.patch(url, json={"title": "x"}, headers=stranger_headers)
    ).status_code == 404

    # The assignee may work on the task but not delete it.
    assert (
        await api.client.patch(url, json={"status": "in_progress"}, headers=assignee_headers)
    ).status_code == 200
    forbidden = await api.client.delete(url, headers=assignee_headers)
    assert forbidden.status_code == 403
    assert (await api.client.delete(url, headers=admin_headers)).status_code == 204

    listed = await api.client.get("/api/v1/tasks", headers=stranger_headers)
    assert listed.json()["total"] == 0
    assert owner["id"] != assignee["id"]


async def test_status_transitions_outside_the_workflow_are_conflicts(api: Api) -> None:
    _, headers = await api.user_headers()
    task = await _create(api, headers)
    url = f"/api/v1/tasks/{task['id']}"
    refused = await api.client.patch(url, json={"status": "done"}, headers=headers)
    assert refused.status_code == 409
    assert "todo" in refused.json()["detail"] and "in_progress" in refused.json()["detail"]
    assert (await api.client.get(url, headers=headers)).json()["status"] == "todo"
    for status in ("in_progress", "done", "in_progress", "cancelled", "todo"):
        response = await api.client.patch(url, json={"status": status}, headers=headers)
        assert response.status_code == 200, (status, response.text)


async def test_list_filters_by_status_and_assignee_and_paginates(api: Api) -> None:
    _, headers = await api.user_headers()
    assignee, _ = await api.user_headers()
    ids = [(await _create(api, headers, title=f"task {i}"))["id"] for i in range(5)]
    await api.client.patch(
        f"/api/v1/tasks/{ids[0]}", json={"status": "in_progress"}, headers=headers
    )
    await api.client.patch(
        f"/api/v1/tasks/{ids[1]}", json={"assignee_id": assignee["id"]}, headers=headers
    )

    page = await api.client.get("/api/v1/tasks", params={"limit": 2, "offset": 0}, headers=headers)
    body = page.json()
    assert body["total"] == 5 and body["limit"] == 2 and len(body["items"]) == 2
    rest = await api.client.get("/api/v1/tasks", params={"limit": 10, "offset": 2}, headers=headers)
    seen = [t["id"] for t in body["items"]] + [t["id"] for t in rest.json()["items"]]
    assert sorted(seen) == sorted(ids), "pages overlap or miss tasks"

    in_progress = await api.client.get(
        "/api/v1/tasks", params={"status": "in_progress"}, headers=headers
    )
    assert [t["id"] for t in in_progress.json()["items"]] == [ids[0]]
    assigned = await api.client.get(
        "/api/v1/tasks", params={"assignee_id": assignee["id"]}, headers=headers
    )
    assert [t["id"] for t in assigned.json()["items"]] == [ids[1]]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "ok", "due_at": "2030-01-01T00:00:00"}, "due_at"),
        ({"title": "ok", "status": "done"}, "status"),
        ({"title": "ok", "assignee_id": "not-a-uuid"}, "assignee_id"),
        ({"title": "ok", "assignee_id": str(uuid.uuid4())}, "assignee_id"),
        ({"description": "no title"}, "title"),
        # Strict JSON types: nothing is coerced.
        ({"title": 5}, "title"),
        ({"title": "t", "description": ["x"]}, "description"),
        ({"title": "t", "due_at": 1_900_000_000}, "due_at"),
        ({"title": "t", "assignee_id": 5}, "assignee_id"),
    ],
)
async def test_bad_task_payload_is_422_naming_the_field(
    api: Api, payload: dict[str, Any], field: str
) -> None:
    _, headers = await api.user_headers()
    response = await api.client.post("/api/v1/tasks", json=payload, headers=headers)
    assert response.status_code == 422, response.text
    assert field in [error["loc"][-1] for error in response.json()["detail"]]


async def test_bad_query_and_path_parameters_are_422(api: Api) -> None:
    _, headers = await api.user_headers()
    for url, params in (
        ("/api/v1/tasks", {"limit": 0}),
        ("/api/v1/tasks", {"status": "sleeping"}),
        ("/api/v1/tasks/not-a-uuid", {}),
    ):
        response = await api.client.get(url, params=params, headers=headers)
        assert response.status_code == 422, (url, params)


async def test_unknown_task_is_404(api: Api) -> None:
    _, headers = await api.user_headers()
    missing = uuid.uuid4()
    for method in ("GET", "PATCH", "DELETE"):
        response = await api.client.request(
            method,
            f"/api/v1/tasks/{missing}",
            headers=headers,
            json={"title": "x"} if method == "PATCH" else None,
        )
        assert response.status_code == 404, method
        assert str(missing) in response.json()["detail"]


async def test_a_failed_write_stores_neither_the_change_nor_its_event(api: Api) -> None:
    _, headers = await api.user_headers()
    task = await _create(api, headers, title="keep me")
    url = f"/api/v1/tasks/{task['id']}"
    refused = await api.client.patch(
        url, json={"title": "changed", "assignee_id": str(uuid.uuid4())}, headers=headers
    )
    assert refused.status_code == 422
    assert (await api.client.get(url, headers=headers)).json()["title"] == "keep me"
    assert await _events(api, task["id"]) == ["task.created"]


async def test_nul_characters_are_refused_not_a_database_error(api: Api) -> None:
    _, headers = await api.user_headers()
    for payload in ({"title": "a\x00b"}, {"title": "ok", "description": "x\x00"}):
        response = await api.client.post("/api/v1/tasks", json=payload, headers=headers)
        assert response.status_code == 422, response.text
        assert "NUL" in response.json()["detail"][0]["msg"]
    login = await api.client.post(
        "/api/v1/auth/token", data={"username": "a\x00@example.com", "password": "x"}
    )
    assert login.status_code == 401


# Titles are one line of visible text (notification subjects are made of them).
REFUSED_IN_TITLES = [
    "\n",
    "\r",
    "\t",
    "\x0b",
    "\x1b",
    "\x7f",
    "\x85",
    "\x9b",
    "\u2028",
    "\u2029",
    "\u202a",
    "\u202e",
    "\u2066",
    "\u2069",
    "\u200e",
    "\u200f",
    "\u061c",
]


@pytest.mark.parametrize("character", REFUSED_IN_TITLES)
async def test_titles_with_control_line_break_or_bidi_characters_are_422(
    api: Api, character: str
) -> None:
    _, headers = await api.user_headers()
    created = await api.client.post(
        "/api/v1/tasks", json={"title": f"Quarterly review{character}x"}, headers=headers
    )
    assert created.status_code == 422, created.text
    error = created.json()["detail"][0]
    assert error["loc"] == ["body", "title"]
    assert f"U+{ord(character):04X}" in error["msg"] and "one line" in error["msg"]
    task = await _create(api, headers, title="kept")
    patched = await api.client.patch(
        f"/api/v1/tasks/{task['id']}", json={"title": f"a{character}b"}, headers=headers
    )
    assert patched.status_code == 422 and patched.json()["detail"][0]["loc"] == ["body", "title"]


async def test_descriptions_keep_tabs_and_line_breaks_but_not_bidi_or_other_controls(
    api: Api,
) -> None:
    _, headers = await api.user_headers()
    text = "Steps:\n\t1. restore\r\n\t2. verify \u200f"
    assert (await _create(api, headers, description=text))["description"] == text
    for character in ("\u202e", "\u2067", "\x1b", "\x07"):
        refused = await api.client.post(
            "/api/v1/tasks", json={"title": "t", "description": f"a{character}b"}, headers=headers
        )
        assert refused.status_code == 422, (character, refused.text)
        assert refused.json()["detail"][0]["loc"] == ["body", "description"]


@pytest.mark.parametrize("field", ["title", "description", "status"])
async def test_patch_with_null_for_a_field_that_cannot_be_empty_is_422(
    api: Api, field: str
) -> None:
    _, headers = await api.user_headers()
    task = await _create(api, headers, title="keep me", description="and me")
    url = f"/api/v1/tasks/{task['id']}"
    refused = await api.client.patch(url, json={field: None}, headers=headers)
    assert refused.status_code == 422, refused.text
    error = refused.json()["detail"][0]
    assert error["loc"] == ["body", field] and "must not be null" in error["msg"]
    assert (await api.client.get(url, headers=headers)).json() == task


async def test_patch_with_null_assignee_or_due_date_clears_them(api: Api) -> None:
    _, headers = await api.user_headers()
    assignee = await api.make_user()
    task = await _create(api, headers, assignee_id=assignee["id"], due_at="2030-01-01T00:00:00Z")
    cleared = await api.client.patch(
        f"/api/v1/tasks/{task['id']}", json={"assignee_id": None, "due_at": None}, headers=headers
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["assignee_id"] is None and cleared.json()["due_at"] is None


async def test_activity_is_paged_oldest_first_with_every_entry_by_default(api: Api) -> None:
    _, headers = await api.user_headers()
    task = await _create(api, headers)
    start = datetime(2030, 1, 1, tzinfo=UTC)
    async with transaction(api.state.sessions) as session:
        for minute in range(120):
            session.add(
                TaskActivity(
                    task_id=uuid.UUID(task["id"]),
                    event_id=uuid.uuid4(),
                    event_type="task.updated",
                    actor_id=None,
                    details={"n": minute},
                    created_at=start + timedelta(minutes=minute),
                )
            )
    url = f"/api/v1/tasks/{task['id']}/activity"
    first = (await api.client.get(url, headers=headers)).json()
    assert [entry["details"]["n"] for entry in first] == list(range(100))
    rest = (await api.client.get(url, params={"offset": 100}, headers=headers)).json()
    assert [entry["details"]["n"] for entry in rest] == list(range(100, 120))
    page = (await api.client.get(url, params={"limit": 5, "offset": 7}, headers=headers)).json()
    assert [entry["details"]["n"] for entry in page] == list(range(7, 12))
    too_many = await api.client.get(url, params={"limit": 101}, headers=headers)
    assert too_many.status_code == 422
