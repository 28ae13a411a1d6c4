"""Settings are validated before anything starts, with errors naming the variable."""

from __future__ import annotations

import subprocess

import pytest
from pydantic import ValidationError

from orgo.core.config import DEV_JWT_SECRET, Settings
from tests.harness.orgo import ORGO

STRONG = "s" * 40


def _errors(**values: str) -> str:
    with pytest.raises(ValidationError) as caught:
        Settings(**values)  # type: ignore[arg-type]
    return str(caught.value)


def test_dev_accepts_the_default_secret() -> None:
    assert Settings(env="dev").jwt_secret.get_secret_value() == DEV_JWT_SECRET


@pytest.mark.parametrize("env", ["test", "staging", "prod"])
def test_outside_dev_the_default_or_a_short_secret_is_refused(env: str) -> None:
    assert "ORGO_JWT_SECRET" in _errors(env=env)
    assert "at least 32" in _errors(env=env, jwt_secret="too-short")


def test_production_requires_real_services_naming_each_missing_one() -> None:
    message = _errors(env="prod", jwt_secret=STRONG)
    for name in ("ORGO_DATABASE_URL", "ORGO_REDIS_URL", "ORGO_AMQP_URL"):
        assert name in message
    ok = Settings(
        env="prod",
        jwt_secret=STRONG,
        database_url="postgresql+asyncpg://u:p@db/orgo",
        redis_url="rediss://:p@cache:6380/0",
        amqp_url="amqps://u:p@mq/orgo",
    )
    assert not ok.is_sqlite


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("database_url", "mysql://x", "postgresql+asyncpg://"),
        ("redis_url", "memcached://x", "redis://"),
        ("amqp_url", "kafka://x", "amqp://"),
        ("port", "70000", "less than or equal to 65535"),
        ("log_level", "LOUD", "DEBUG|INFO"),
    ],
)
def test_bad_values_name_what_is_allowed(field: str, value: str, allowed: str) -> None:
    message = _errors(env="dev", **{field: value})
    assert field in message and allowed in message


def test_the_cli_refuses_to_start_naming_the_variable_and_not_its_value() -> None:
    leaked = "tiny-secret"
    result = subprocess.run(
        [ORGO, "api"],
        env={"ORGO_ENV": "prod", "ORGO_JWT_SECRET": leaked, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "orgo: invalid ORGO_JWT_SECRET" in result.stderr
    assert leaked not in result.stderr + result.stdout
