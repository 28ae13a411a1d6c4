"""Shared fixtures for the observability tests: the config and the tools they need."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from observability.generate import PACKAGE_DIR

REPO = PACKAGE_DIR.parent
RULES_DIR = PACKAGE_DIR / "prometheus" / "rules"
RULE_TESTS_DIR = PACKAGE_DIR / "prometheus" / "tests"
ALERTMANAGER_DIR = PACKAGE_DIR / "alertmanager"
RUNBOOKS_DIR = REPO / "docs" / "runbooks"


def tool(name: str) -> str:
    """Path of a binary from the Debian prometheus packages, or fail naming the package."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} not found: install the Debian packages prometheus and "
            "prometheus-alertmanager (make system-deps)"
        )
    return found


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
