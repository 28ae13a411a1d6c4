"""The OpenAPI document in the repository (docs/api/openapi.json, what the web UI's client is
generated from) is the app's, and the status moves it publishes are the ones the API allows."""

from __future__ import annotations

import json
import os
import subprocess
from collections import deque
from pathlib import Path

import pytest

from orgo.models import TaskStatus
from tests.app.conftest import Api
from tests.harness.orgo import ORGO

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "api" / "openapi.json"
TRANSITIONS = "x-orgo-status-transitions"


def published_transitions() -> dict[str, list[str]]:
    document = json.loads(DOCUMENT.read_text())
    transitions: dict[str, list[str]] = document["paths"]["/api/v1/tasks/{task_id}"]["patch"][
        TRANSITIONS
    ]
    return transitions


def test_the_committed_document_is_what_orgo_openapi_writes(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ORGO_")}
    written = tmp_path / "openapi.json"
    subprocess.run([ORGO, "openapi", "--output", str(written)], env=env, check=True, timeout=120)
    stdout = subprocess.run(
        [ORGO, "openapi"], env=env, capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert stdout == written.read_text()
    assert written.read_text() == DOCUMENT.read_text(), (
        "docs/api/openapi.json is not the app's document: run make api-client and commit it"
    )
    assert written.read_text().isascii(), "invisible characters are written as \\u escapes"


def _path_to(status: str, transitions: dict[str, list[str]]) -> list[str]:
    """The moves from todo (a new task's status) to `status`, by the published table."""
    paths = deque([[TaskStatus.todo.value]])
    while paths:
        path = paths.popleft()
        if path[-1] == status:
            return path[1:]
        paths.extend([*path, nxt] for nxt in transitions[path[-1]] if nxt not in path)
    raise AssertionError(f"{status} cannot be reached from todo by {transitions}")


@pytest.mark.asyncio(loop_scope="session")
async def test_the_published_moves_are_exactly_the_ones_the_api_allows(api: Api) -> None:
    transitions = published_transitions()
    statuses = [status.value for status in TaskStatus]
    assert sorted(transitions) == sorted(statuses)
    _, headers = await api.user_headers()
    outcomes: dict[tuple[str, str], int] = {}
    for current in statuses:
        for wanted in statuses:
            if wanted == current:
                continue
            created = await api.client.post("/api/v1/tasks", json={"title": "t"}, headers=headers)
            url = f"/api/v1/tasks/{created.json()['id']}"
            for step in _path_to(current, transitions):
                moved = await api.client.patch(url, json={"status": step}, headers=headers)
                assert moved.status_code == 200, moved.text
            response = await api.client.patch(url, json={"status": wanted}, headers=headers)
            outcomes[current, wanted] = response.status_code
    assert outcomes == {
        (current, wanted): 200 if wanted in transitions[current] else 409
        for current, wanted in outcomes
    }
    assert 409 in outcomes.values()
