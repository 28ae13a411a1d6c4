"""ansible-lint (production profile) and yamllint are clean on playbooks/."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.playbooks.hosts import BIN, PLAYBOOKS


def lint(*command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANSIBLE_CONFIG": str(PLAYBOOKS / "ansible.cfg"), "NO_COLOR": "1"}
    return subprocess.run(
        command, cwd=PLAYBOOKS, env=env, capture_output=True, text=True, check=False
    )


@pytest.mark.timeout(900)
def test_ansible_lint_production_profile() -> None:
    done = lint(str(BIN / "ansible-lint"), "-c", ".ansible-lint", "--profile", "production")
    assert done.returncode == 0, done.stdout + done.stderr


def test_yamllint() -> None:
    done = lint(str(BIN / "yamllint"), "--strict", "-c", ".yamllint", ".")
    assert done.returncode == 0, done.stdout + done.stderr
