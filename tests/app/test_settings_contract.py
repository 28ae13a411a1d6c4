"""The ORGO_* contract: the app's Settings is the one list of names. Every name the chart,
the Pulumi program, the Ansible role and the test harness set is a field of it, every field
is in the README table, and the app refuses an ORGO_* name it does not know."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from orgo.core.config import TOOLING_VARIABLES, unknown_variables, variable_names
from tests.harness.orgo import ORGO, orgo_env

REPO = Path(__file__).resolve().parents[2]
NAME = re.compile(r"\bORGO_[A-Z0-9_]*[A-Z0-9]\b")
# Where the deployments set the app's environment.
SETTERS = {
    "chart": [
        *sorted((REPO / "charts/orgo-api/templates").iterdir()),
        REPO / "charts/orgo-api/values.yaml",
    ],
    "Pulumi program": [REPO / "infra/components/orgo.py"],
    "Ansible role": sorted(
        p for p in (REPO / "playbooks/roles/orgo_api").rglob("*") if p.is_file()
    ),
    "test harness": [REPO / "tests/harness/orgo.py"],
}
README_ROW = re.compile(r"^\| (`ORGO_[^|]+)\|", re.M)
# Look like variables but are not: the README's example error line, a Python name in infra/.
NOT_VARIABLES = {"ORGO_X", "ORGO_NAMESPACE"}


def names_in(paths: list[Path]) -> set[str]:
    return {name for path in paths for name in NAME.findall(path.read_text(errors="replace"))}


@pytest.mark.parametrize("setter", sorted(SETTERS))
def test_every_name_a_deployment_sets_is_a_setting(setter: str) -> None:
    found = names_in(SETTERS[setter])
    assert found, f"no ORGO_* name found in the {setter}: the paths above are stale"
    unknown = found - set(variable_names())
    assert not unknown, (
        f"the {setter} sets {sorted(unknown)}, which orgo.core.config.Settings lacks"
    )


def test_every_setting_is_in_the_readme_table() -> None:
    rows = README_ROW.findall((REPO / "README.md").read_text())
    documented = {name for row in rows for name in NAME.findall(row)}
    missing = [name for name in variable_names() if name not in documented]
    assert not missing, f"README.md's configuration table lacks {missing}"
    stale = documented - set(variable_names())
    assert not stale, f"README.md's configuration table lists {sorted(stale)}, no setting"


def test_every_orgo_name_in_the_repository_is_a_setting_or_a_tooling_variable() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    # This file's misspelt names are its examples.
    paths = [
        REPO / name
        for name in tracked
        if name and (REPO / name).is_file() and REPO / name != Path(__file__).resolve()
    ]
    unknown = names_in(paths) - set(variable_names()) - TOOLING_VARIABLES - NOT_VARIABLES
    assert not unknown, (
        f"{sorted(unknown)}: add each to Settings (the app reads it) or to "
        "orgo.core.config.TOOLING_VARIABLES (only the tooling does)"
    )


def test_unknown_variables_are_the_names_neither_side_knows() -> None:
    environ = {"ORGO_PORT": "1", "ORGO_CHART_MIRROR": "/m", "ORGO_PROT": "1", "PATH": "/bin"}
    assert unknown_variables(environ) == ["ORGO_PROT"]


def test_the_app_refuses_a_misspelt_variable_naming_it_and_the_allowed_ones(
    tmp_path: Path,
) -> None:
    env = orgo_env(f"sqlite+aiosqlite:///{tmp_path / 'orgo.db'}", ORGO_CACHE_TTL="5")
    result = subprocess.run(
        [ORGO, "migrate"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "orgo: unknown variable ORGO_CACHE_TTL" in result.stderr
    assert "ORGO_CACHE_TTL_SECONDS" in result.stderr
    assert not (tmp_path / "orgo.db").exists()
