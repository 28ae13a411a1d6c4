"""ECS JSON log lines of the real API and worker: request ids, event ids, and no secrets."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness.orgo import OrgoProcess, orgo, orgo_env
from tests.harness.processes import wait_until

PASSWORD = "log-test password never logged"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[OrgoProcess, OrgoProcess]]:
    database = tmp_path_factory.mktemp("logs") / "orgo.db"
    env = orgo_env(f"sqlite+aiosqlite:///{database}")
    orgo(env, "migrate")
    orgo(env, "user", "create", "--email", "logs@example.com", "--admin", stdin=PASSWORD + "\n")
    api = OrgoProcess("api", env).start()
    worker = OrgoProcess("worker", env).start()
    yield api, worker
    api.stop()
    worker.stop()


def _lines(process: OrgoProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in process.logs().splitlines() if line.strip()]


def _scripted_traffic(api: OrgoProcess) -> dict[str, str]:
    bad = httpx.post(
        f"{api.url}/api/v1/auth/token",
        data={"username": "logs@example.com", "password": "wrong " + PASSWORD},
    )
    assert bad.status_code == 401
    tokens = httpx.post(
        f"{api.url}/api/v1/auth/token", data={"username": "logs@example.com", "password": PASSWORD}
    ).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "X-Request-ID": "trace-me-42"}
    created = httpx.post(f"{api.url}/api/v1/tasks", json={"title": "logged"}, headers=headers)
    assert created.status_code == 201
    last = uuid.uuid4().hex
    httpx.post(
        f"{api.url}/api/v1/auth/refresh",
        json={"refresh_token": tokens["refresh_token"]},
        headers={"X-Request-ID": last},
    )
    # The access line is written after the response is sent: wait for the last one.
    wait_until(
        lambda: any(_request_id(line) == last for line in _lines(api)), 30, "the last access line"
    )
    return {"task_id": created.json()["id"], **tokens}


def _request_id(line: dict[str, Any]) -> str | None:
    request_id: str | None = line.get("http", {}).get("request", {}).get("id")
    return request_id


def test_every_line_is_ecs_json_and_requests_carry_their_id(
    running: tuple[OrgoProcess, OrgoProcess],
) -> None:
    api, _ = running
    _scripted_traffic(api)
    lines = _lines(api)
    for line in lines:
        assert {"@timestamp", "log.level", "message", "ecs.version"} <= set(line)
        assert line["service"]["name"] == "orgo-api"
    access = [line for line in lines if line["event"]["dataset"] == "orgo.access"]
    traced = [line for line in access if _request_id(line) == "trace-me-42"]
    assert len(traced) == 1
    entry = traced[0]
    assert entry["orgo"]["route"] == "/api/v1/tasks"
    assert entry["url"]["path"] == "/api/v1/tasks"
    assert entry["http"]["response"]["status_code"] == 201
    assert entry["http"]["request"]["method"] == "POST"
    assert isinstance(entry["event"]["duration"], int) and entry["event"]["duration"] > 0
    assert entry["user"]["id"]
    assert entry["client"]["ip"] == "127.0.0.1"


def test_worker_lines_name_the_event(running: tuple[OrgoProcess, OrgoProcess]) -> None:
    api, worker = running
    task_id = _scripted_traffic(api)["task_id"]
    wait_until(
        lambda: any(line.get("orgo", {}).get("event_id") for line in _lines(worker)),
        30,
        "a worker line with an event id",
    )
    processed = [line for line in _lines(worker) if line["message"] == "event processed"]
    assert processed
    assert all(line["orgo"]["event_type"].startswith("task.") for line in processed)
    assert all(line["service"]["name"] == "orgo-worker" for line in _lines(worker))
    assert task_id


def test_no_password_or_token_ever_appears_in_the_logs(
    running: tuple[OrgoProcess, OrgoProcess],
) -> None:
    api, worker = running
    tokens = _scripted_traffic(api)
    everything = api.logs() + worker.logs()
    for secret in (
        PASSWORD,
        tokens["access_token"],
        tokens["refresh_token"],
        api.env["ORGO_JWT_SECRET"],
    ):
        assert secret not in everything
    assert Path(api.log_path).stat().st_size > 0
