"""Bad inventory variables stop site.yml before anything changes, naming the variable.

Only the preflight play runs (--tags preflight), against local-connection hosts that
nothing is ever applied to.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.playbooks.hosts import playbook

GROUPS = ["orgo_db", "orgo_mq", "orgo_cache", "orgo_app", "orgo_monitoring"]


def inventory(tmp_path: Path, groups: list[str], **variables: object) -> Path:
    content = {
        "all": {
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": "/usr/bin/python3",
                "orgo_listen_address": "10.0.0.5",
                "orgo_secrets_dir": str(tmp_path / "secrets"),
                **variables,
            },
            "children": {group: {"hosts": {"host-a": None}} for group in groups},
        }
    }
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(content))
    return path


def preflight(path: Path, check: bool = False) -> str:
    run = playbook("site.yml", path, {}, "--tags", "preflight", check=check)
    if not check:
        assert run.returncode != 0, f"preflight accepted a bad inventory:\n{run.output}"
    return run.output


def test_a_valid_inventory_passes_and_generates_private_secrets(tmp_path: Path) -> None:
    preflight(inventory(tmp_path, GROUPS), check=True)
    secrets = tmp_path / "secrets"
    assert oct(secrets.stat().st_mode & 0o777) == "0o700"
    files = sorted(p.name for p in secrets.iterdir())
    assert files == [
        "admin-password",
        "jwt-secret",
        "postgres-exporter-password",
        "postgresql-password",
        "rabbitmq-password",
        "redis-password",
    ]
    assert {oct(p.stat().st_mode & 0o777) for p in secrets.iterdir()} == {"0o600"}


def test_unknown_group_is_named(tmp_path: Path) -> None:
    output = preflight(inventory(tmp_path, [*GROUPS, "orgo_databse"]))
    assert "unknown inventory group(s) orgo_databse" in output
    assert "allowed: orgo_db, orgo_mq" in output


def test_empty_group_is_named(tmp_path: Path) -> None:
    output = preflight(inventory(tmp_path, [g for g in GROUPS if g != "orgo_cache"]))
    assert "inventory group orgo_cache has no host" in output


@pytest.mark.parametrize("value", [70000, 0, "http"])
def test_port_out_of_range_is_named(tmp_path: Path, value: object) -> None:
    output = preflight(inventory(tmp_path, GROUPS, orgo_redis_port=value))
    assert f"orgo_redis_port={value} is not a port: allowed 1-65535" in output


def test_missing_listen_address_is_named(tmp_path: Path) -> None:
    output = preflight(inventory(tmp_path, GROUPS, orgo_listen_address="db.internal"))
    assert "orgo_listen_address must be set to an IP address for host host-a" in output


def test_missing_password_in_a_non_local_inventory_is_named(tmp_path: Path) -> None:
    passwords = {
        "orgo_postgresql_password": "p" * 32,
        "orgo_postgres_exporter_password": "e" * 32,
        "orgo_rabbitmq_password": "r" * 32,
        "orgo_jwt_secret": "j" * 64,
        "orgo_admin_password": "a" * 24,
    }
    output = preflight(inventory(tmp_path, GROUPS, orgo_secrets_mode="inventory", **passwords))
    assert "orgo_redis_password is required when orgo_secrets_mode=inventory" in output
    assert "p" * 32 not in output
    assert not (tmp_path / "secrets").exists()


def test_unknown_secrets_mode_is_named(tmp_path: Path) -> None:
    output = preflight(inventory(tmp_path, GROUPS, orgo_secrets_mode="vault"))
    assert "orgo_secrets_mode=vault: allowed generate, inventory" in output
