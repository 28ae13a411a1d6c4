"""The `orgo` command: migrate, and user creation with the password kept off argv."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.harness.orgo import ORGO, orgo, orgo_env


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = orgo_env(f"sqlite+aiosqlite:///{tmp_path / 'orgo.db'}")
    orgo(environment, "migrate")
    return environment


def _users(env: dict[str, str]) -> list[tuple[str, int]]:
    path = env["ORGO_DATABASE_URL"].split(":///", 1)[1]
    with sqlite3.connect(path) as db:
        return db.execute("SELECT email, is_admin FROM users ORDER BY email").fetchall()


def test_migrate_is_idempotent(env: dict[str, str]) -> None:
    assert "latest schema" in orgo(env, "migrate")


def test_user_create_reads_the_password_from_stdin_or_a_file(
    env: dict[str, str], tmp_path: Path
) -> None:
    orgo(
        env,
        "user",
        "create",
        "--email",
        "Admin@Example.com",
        "--admin",
        stdin="a long admin password\n",
    )
    secret = tmp_path / "password"
    secret.write_text("a long user password\n")
    secret.chmod(0o600)
    orgo(env, "user", "create", "--email", "user@example.com", "--password-file", str(secret))
    assert _users(env) == [("admin@example.com", 1), ("user@example.com", 0)]


def test_there_is_no_password_argument(env: dict[str, str]) -> None:
    result = subprocess.run(
        [ORGO, "user", "create", "--email", "x@example.com", "--password", "on-the-command-line"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-email", "a long enough password", "email"),
        ("ok@example.com", "short", "password"),
    ],
)
def test_invalid_users_are_refused_naming_the_field(
    env: dict[str, str], email: str, password: str, message: str
) -> None:
    result = subprocess.run(
        [ORGO, "user", "create", "--email", email],
        input=password + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert f"invalid user: {message}" in result.stderr
    assert password not in result.stderr
    assert _users(env) == []


def test_a_duplicate_user_is_refused_and_the_first_kept(env: dict[str, str]) -> None:
    orgo(env, "user", "create", "--email", "a@example.com", stdin="first long password\n")
    with pytest.raises(RuntimeError, match="already exists"):
        orgo(
            env,
            "user",
            "create",
            "--email",
            "a@example.com",
            "--admin",
            stdin="second long password\n",
        )
    assert _users(env) == [("a@example.com", 0)]
