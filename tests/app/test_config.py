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


@pytest.mark.parametrize("value", ["*", "0.0.0.0/0", "::/0", "10.0.0.0/8,*"])
def test_trusting_every_forwarding_peer_is_refused(value: str) -> None:
    message = _errors(env="dev", forwarded_allow_ips=value)
    assert "forwarded_allow_ips" in message and "from anyone" in message
    assert "IP addresses or CIDR networks" in message


@pytest.mark.parametrize(
    ("value", "reason"), [("proxy.local", "does not appear"), ("10.0.0.1/8", "host bits")]
)
def test_a_proxy_that_is_no_address_or_network_is_refused(value: str, reason: str) -> None:
    message = _errors(env="dev", forwarded_allow_ips=value)
    assert reason in message and "IP addresses or CIDR networks" in message


def test_forwarded_allow_ips_is_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORGO_FORWARDED_ALLOW_IPS", " 10.0.2.0/24, 192.0.2.7 ,fd00::/8")
    assert Settings().forwarded_allow_ips == ("10.0.2.0/24", "192.0.2.7", "fd00::/8")
    monkeypatch.setenv("ORGO_FORWARDED_ALLOW_IPS", "")
    assert Settings().forwarded_allow_ips == ()
    monkeypatch.delenv("ORGO_FORWARDED_ALLOW_IPS")
    assert Settings().forwarded_allow_ips == ("127.0.0.1", "::1")


def test_the_cli_names_the_proxy_variable_and_what_is_allowed() -> None:
    result = subprocess.run(
        [ORGO, "api"],
        env={"ORGO_FORWARDED_ALLOW_IPS": "*", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "orgo: invalid ORGO_FORWARDED_ALLOW_IPS: " in result.stderr
    assert "IP addresses or CIDR networks" in result.stderr
