"""The hosts install the app only from wheels whose hashes the wheelhouse recorded.

The role's script builds a wheelhouse on this machine as the converge does, and the role's
own install command (read from its task) installs it into a fresh venv of the hosts'
Python (Debian's /usr/bin/python3) with pip's settings of this machine left out, as on a
host. A wheel swapped for one with other content under the same name is refused.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.playbooks.hosts import PLAYBOOKS, REPO

pytestmark = pytest.mark.timeout(600)

ROLE = PLAYBOOKS / "roles" / "orgo_api"
HOST_PYTHON = Path("/usr/bin/python3")
INSTALL_TASK = "Orgo | app installed from the wheelhouse only"
REFUSED = "THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE"


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tarball build-wheelhouse.sh writes, with the role's default arguments."""
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    platforms = ",".join(
        tag.replace("{{ ansible_architecture }}", platform.machine())
        for tag in defaults["orgo_api_wheel_platforms"]
    )
    out = tmp_path_factory.mktemp("wheelhouse") / "release"
    script = ROLE / "files" / "build-wheelhouse.sh"
    version = host_release_vars()["orgo_api_python_version"]
    subprocess.run([str(script), str(out), version, platforms], cwd=REPO, check=True)
    return out.with_name("release.tar.gz")


def host_release_vars() -> dict[str, str]:
    """The role's variables for this machine's Debian release, whose python3 is the hosts'."""
    major = Path("/etc/debian_version").read_text().split(".")[0].strip()
    return dict(yaml.safe_load((ROLE / "vars" / f"Debian-{major}.yml").read_text()))


def release(wheelhouse: Path, directory: Path) -> Path:
    """A release directory as the role unpacks it on a host, with an empty venv."""
    if not HOST_PYTHON.exists():
        pytest.skip(f"{HOST_PYTHON} (the hosts' Python) is not installed here")
    directory.mkdir()
    with tarfile.open(wheelhouse) as archive:
        archive.extractall(directory, filter="data")
    subprocess.run([str(HOST_PYTHON), "-m", "venv", str(directory / "venv")], check=True)
    return directory


def install(directory: Path) -> subprocess.CompletedProcess[str]:
    """The role's install task's command, for the release in DIRECTORY."""
    tasks = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())
    [task] = [task for task in tasks if task["name"] == INSTALL_TASK]
    argv = [
        arg.replace("{{ orgo_api_release_dir }}", str(directory))
        for arg in task["ansible.builtin.command"]["argv"]
    ]
    assert not [arg for arg in argv if "{{" in arg], argv
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    return subprocess.run(argv, env=env, capture_output=True, text=True, check=False)


def swap(wheel: Path) -> None:
    """Replaces WHEEL with a wheel of the same name holding one more module."""
    swapped = wheel.with_suffix(".swapped")
    with zipfile.ZipFile(wheel) as original, zipfile.ZipFile(swapped, "w") as changed:
        for item in original.infolist():
            changed.writestr(item, original.read(item))
        package = original.namelist()[0].split("/")[0]
        changed.writestr(f"{package}/injected.py", "print('not what was locked')\n")
    shutil.move(swapped, wheel)


def test_the_wheelhouse_installs_the_app_with_every_hash_checked(
    wheelhouse: Path, tmp_path: Path
) -> None:
    directory = release(wheelhouse, tmp_path / "release")
    requirements = (directory / "requirements.txt").read_text()
    pins = [line for line in requirements.splitlines() if "==" in line and "#" not in line]
    assert pins, requirements
    done = install(directory)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (directory / "venv" / "bin" / "orgo").exists()
    assert requirements.count("--hash=sha256:") >= len(pins)
    assert any(line.startswith("orgo==") for line in pins), pins


@pytest.mark.parametrize("wheel", ["idna-*.whl", "orgo-*.whl"], ids=["dependency", "the app"])
def test_a_swapped_wheel_is_refused(wheelhouse: Path, tmp_path: Path, wheel: str) -> None:
    directory = release(wheelhouse, tmp_path / "release")
    [target] = (directory / "wheels").glob(wheel)
    swap(target)
    done = install(directory)
    assert done.returncode != 0
    assert REFUSED in done.stdout + done.stderr, done.stdout + done.stderr
    assert not (directory / "venv" / "bin" / "orgo").exists()
