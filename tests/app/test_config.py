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


def _api_refusal(**env: str) -> str:
    """What `orgo api` prints when it refuses to start with these variables (exit 2)."""
    result = subprocess.run(
        [ORGO, "api"],
        env={**env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_the_cli_refuses_to_start_naming_the_variable_and_not_its_value() -> None:
    leaked = "tiny-secret"
    output = _api_refusal(ORGO_ENV="prod", ORGO_JWT_SECRET=leaked)
    assert "orgo: invalid ORGO_JWT_SECRET" in output
    assert leaked not in output


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
    output = _api_refusal(ORGO_FORWARDED_ALLOW_IPS="*")
    assert "orgo: invalid ORGO_FORWARDED_ALLOW_IPS: " in output
    assert "IP addresses or CIDR networks" in output


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.2.15", "orgo.internal"])  # noqa: S104
def test_dev_refuses_the_built_in_or_a_short_secret_on_a_non_loopback_address(host: str) -> None:
    for secret in (DEV_JWT_SECRET, "s" * 31):
        message = _errors(env="dev", host=host, jwt_secret=secret)
        assert "ORGO_JWT_SECRET" in message and f"ORGO_HOST={host} is not a loopback" in message
    assert Settings(env="dev", host=host, jwt_secret=STRONG).host == host


@pytest.mark.parametrize("host", ["127.0.0.1", "127.10.0.1", "::1", "localhost"])
def test_dev_on_loopback_keeps_the_built_in_secret(host: str) -> None:
    assert Settings(env="dev", host=host).jwt_secret.get_secret_value() == DEV_JWT_SECRET


@pytest.mark.parametrize(
    ("time_cost", "memory", "ok"),
    [
        (1, 47_104, True),
        (1, 46_000, False),
        (2, 19_456, True),
        (2, 16_384, False),
        (3, 12_288, True),
        (5, 8_192, True),
        (8, 8_192, True),
        (3, 12_000, False),
    ],
)
def test_staging_and_prod_refuse_argon2_below_the_owasp_minimums(
    time_cost: int, memory: int, ok: bool
) -> None:
    values = {
        "env": "staging",
        "jwt_secret": STRONG,
        "argon2_time_cost": str(time_cost),
        "argon2_memory_cost_kib": str(memory),
        "database_url": "postgresql+asyncpg://u:p@db/o",
        "redis_url": "redis://cache",
        "amqp_url": "amqp://mq",
    }
    if ok:
        assert Settings(**values).argon2_memory_cost_kib == memory  # type: ignore[arg-type]
    else:
        message = _errors(**values)
        assert "argon2_memory_cost_kib" in message and "OWASP minimums" in message
    # Tests keep cheap hashing: the floors are for staging and prod only.
    assert Settings(env="test", jwt_secret=STRONG, argon2_memory_cost_kib=8192).env == "test"


def test_the_cli_refuses_the_dev_secret_on_every_interface() -> None:
    output = _api_refusal(ORGO_ENV="dev", ORGO_HOST="0.0.0.0")  # noqa: S104
    assert "orgo: invalid ORGO_JWT_SECRET" in output and "loopback" in output
