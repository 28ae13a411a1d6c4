"""Fuzzing: schemathesis 4 against the real `orgo api` process and its own /openapi.json.

The API runs as deployments run it (a separate process, PostgreSQL and Redis from the
harness, a database of its own) and every request carries an admin's bearer token, so the
fuzzer reaches the handlers, not only the auth dependency's 401. schemathesis' own runner
(`schemathesis run`) applies every check (`--checks all`: no 5xx, documented status codes,
headers and schemas, invalid data refused and valid data accepted, `Allow` on 405, ...)
in the coverage, fuzzing and stateful phases; the stateful phase follows the OpenAPI links
from created tasks and users to their PATCH, DELETE and reads with real ids. Its HAR report
shows what was sent: PATCH bodies with nulls reached existing tasks.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness.orgo import OrgoProcess, orgo, orgo_env
from tests.harness.services import PostgresServer, RedisServer

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES_PER_OPERATION = 30
SEED = 20261203  # reproducible: the same requests every run
ADMIN_EMAIL = "fuzz-admin@example.com"
TASK_URL = re.compile(r"/api/v1/tasks/[0-9a-f-]{36}$")


@pytest.fixture(scope="module")
def fuzzed_api(postgres: PostgresServer, redis_server: RedisServer) -> Iterator[OrgoProcess]:
    # A database of its own: the fuzzer's random users and tasks stay out of other suites.
    postgres.psql(f"CREATE DATABASE orgo_fuzz OWNER {postgres.user}")
    database_url = postgres.url.rsplit("/", 1)[0] + "/orgo_fuzz"
    env = orgo_env(database_url, redis_server.url, ORGO_DOCS_ENABLED="true")
    orgo(env, "migrate")
    api = OrgoProcess("api", env).start()
    yield api
    api.stop()
    postgres.psql("DROP DATABASE orgo_fuzz WITH (FORCE)")


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str
    entries: list[dict[str, Any]] = field(repr=False)


@pytest.fixture(scope="module")
def run(fuzzed_api: OrgoProcess, tmp_path_factory: pytest.TempPathFactory) -> Run:
    password = secrets.token_urlsafe(16)
    orgo(fuzzed_api.env, "user", "create", "--email", ADMIN_EMAIL, "--admin", stdin=password)
    token = httpx.post(
        f"{fuzzed_api.url}/api/v1/auth/token",
        data={"username": ADMIN_EMAIL, "password": password},
    )
    assert token.status_code == 200, token.text
    reports = tmp_path_factory.mktemp("schemathesis")
    result = subprocess.run(
        [
            SCHEMATHESIS,
            "--no-color",
            "--config-file",
            str(CONFIG),
            "run",
            f"{fuzzed_api.url}/openapi.json",
            "--checks=all",
            "--phases=coverage,fuzzing,stateful",
            f"--max-examples={EXAMPLES_PER_OPERATION}",
            f"--seed={SEED}",
            "--workers=1",
            "--report=har",
            f"--report-dir={reports}",
        ],
        env={**os.environ, "ORGO_FUZZ_TOKEN": token.json()["access_token"]},
        cwd=reports,  # its cache directory (.schemathesis/) lands there, not in the checkout
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    (har,) = reports.glob("har-*.json")
    entries = json.loads(har.read_text())["log"]["entries"]
    shutil.rmtree(reports)  # the HAR holds the admin's token
    return Run(result.returncode, result.stdout + result.stderr, entries)


def test_every_check_passes_in_every_phase(run: Run) -> None:
    assert run.returncode == 0, run.output[-20_000:]
    for phase in ("Coverage", "Fuzzing", "Stateful"):
        assert re.search(rf"✅ {phase}", run.output), f"{phase} phase did not pass:\n{run.output}"


def test_no_response_is_a_server_error(run: Run) -> None:
    errors = [
        (entry["request"]["method"], entry["request"]["url"], entry["response"]["status"])
        for entry in run.entries
        if entry["response"]["status"] >= 500
    ]
    assert not errors, errors


def _patches_with_nulls(run: Run) -> list[tuple[int, dict[str, Any]]]:
    found = []
    for entry in run.entries:
        request = entry["request"]
        if request["method"] != "PATCH" or not TASK_URL.search(request["url"]):
            continue
        try:
            body = json.loads((request.get("postData") or {}).get("text") or "null")
        except ValueError:
            continue
        if isinstance(body, dict) and None in body.values():
            found.append((entry["response"]["status"], body))
    return found


def test_patch_bodies_with_nulls_reached_existing_tasks(run: Run) -> None:
    sent = _patches_with_nulls(run)
    # `null` clears assignee or due date of a real task (the stateful phase's ids)...
    cleared = [body for status, body in sent if status == 200]
    assert cleared, f"no PATCH with a null reached an existing task: {sent}"
    assert all(
        {key for key, value in body.items() if value is None} <= {"assignee_id", "due_at"}
        for body in cleared
    )
    # ...and is refused for the fields that cannot be empty.
    refused = [
        body
        for status, body in sent
        if status == 422
        and {"title", "description", "status"} & {k for k, v in body.items() if v is None}
    ]
    assert refused, f"no PATCH with a null title, description or status was sent: {sent}"
