"""Fuzzing: schemathesis against the real `orgo api` process and its own /openapi.json.

The API runs as deployments run it (a separate process, PostgreSQL and Redis from the
harness, a database of its own), and every generated request carries an admin's bearer
token, so the fuzzer reaches the handlers and not only the 401 of the auth dependency.
Each operation gets a bounded number of examples; every response must be free of 5xx,
use a documented status code and match the documented schema.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import Failure
from schemathesis.openapi.checks import UndefinedStatusCode

from tests.harness.orgo import OrgoProcess, orgo, orgo_env
from tests.harness.services import PostgresServer, RedisServer

EXAMPLES_PER_OPERATION = 25
ADMIN_EMAIL = "fuzz-admin@example.com"
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


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
class Bearer:
    """An admin's request headers; kept out of reprs so failure reports do not show it."""

    headers: dict[str, str] = field(repr=False)


@pytest.fixture(scope="module")
def admin(fuzzed_api: OrgoProcess) -> Bearer:
    password = secrets.token_urlsafe(16)
    orgo(fuzzed_api.env, "user", "create", "--email", ADMIN_EMAIL, "--admin", stdin=password)
    token = httpx.post(
        f"{fuzzed_api.url}/api/v1/auth/token",
        data={"username": ADMIN_EMAIL, "password": password},
    )
    assert token.status_code == 200, token.text
    return Bearer({"Authorization": f"Bearer {token.json()['access_token']}"})


def fuzz(operation: APIOperation, admin: Bearer) -> list[Failure]:
    """Sends valid and invalid requests of one operation; returns what the checks found."""
    generated = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
        GenerationMode.NEGATIVE
    )

    @given(case=generated)
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def send(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=admin.headers, checks=CHECKS)

    try:
        send()
    except (Failure, BaseExceptionGroup) as found:
        return failures_in(found)
    return []


def failures_in(error: BaseException) -> list[Failure]:
    """The check failures inside hypothesis' and schemathesis' groups; anything else raises."""
    if isinstance(error, Failure):
        return [error]
    if isinstance(error, BaseExceptionGroup):
        return [failure for inner in error.exceptions for failure in failures_in(inner)]
    raise error


@pytest.fixture(scope="module")
def findings(fuzzed_api: OrgoProcess, admin: Bearer) -> list[Failure]:
    """One fuzzing pass over every operation of the served /openapi.json.

    schemathesis' pytest loader (from_fixture) does not run under pytest 9, so operations
    are walked here with its Python API; all findings are kept, not only the first.
    """
    openapi = schemathesis.openapi.from_url(f"{fuzzed_api.url}/openapi.json")
    operations = [result.ok() for result in openapi.get_all_operations()]
    assert len(operations) > 10, f"too few operations in /openapi.json: {operations}"
    return [failure for operation in operations for failure in fuzz(operation, admin)]


def report(failures: list[Failure]) -> str:
    return "\n\n".join(
        f"{failure.operation}: {failure.title}\n{failure.message}" for failure in failures
    )


def test_no_server_errors_and_responses_match_their_schema(findings: list[Failure]) -> None:
    found = [failure for failure in findings if not isinstance(failure, UndefinedStatusCode)]
    assert not found, report(found)


def test_every_status_code_is_documented(findings: list[Failure]) -> None:
    found = [failure for failure in findings if isinstance(failure, UndefinedStatusCode)]
    assert not found, report(found)
