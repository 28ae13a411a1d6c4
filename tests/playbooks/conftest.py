"""Fixtures of the playbook tests: the host image and a converged single-host platform."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.playbooks.hosts import (
    PLAYBOOKS,
    Host,
    Run,
    build_image,
    missing_tools,
    playbook,
    start_host,
)


@dataclass
class Platform:
    """A host converged with (a copy of) inventories/local, and its first run."""

    host: Host
    inventory: Path
    secrets: Path
    first_run: Run

    @property
    def https_port(self) -> int:
        return self.host.published[443]

    @property
    def prometheus_port(self) -> int:
        return self.host.published[9090]

    def converge(self, check: bool = True) -> Run:
        return playbook("site.yml", self.inventory, {}, check=check)


@pytest.fixture(scope="session")
def host_image() -> None:
    missing = missing_tools()
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (make system-deps installs them)")
    build_image()


def local_inventory_copy(directory: Path, host_name: str, secrets: Path) -> Path:
    """inventories/local pointed at the test container and a throwaway secrets directory."""
    inventory = directory / "inventory"
    shutil.copytree(PLAYBOOKS / "inventories" / "local", inventory)
    connection = inventory / "group_vars" / "all" / "connection.yml"
    settings = yaml.safe_load(connection.read_text())
    settings["ansible_host"] = host_name
    connection.write_text(yaml.safe_dump(settings))
    write_test_settings(inventory, secrets, deployment=host_name)
    return inventory


def write_test_settings(inventory: Path, secrets: Path, deployment: str) -> None:
    """A throwaway secrets directory and the deployment's name (its Prometheus `env`)."""
    settings = {"orgo_secrets_dir": str(secrets), "orgo_deployment_name": deployment}
    (inventory / "group_vars" / "all" / "test.yml").write_text(yaml.safe_dump(settings))


@pytest.fixture(scope="module")
def platform(host_image: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    name = "orgo-it-single"
    directory = tmp_path_factory.mktemp("single")
    secrets = directory / "secrets"
    inventory = local_inventory_copy(directory, name, secrets)
    host = start_host(name, ports=(443, 9090, 9093))
    try:
        first = playbook("site.yml", inventory, {})
        yield Platform(host, inventory, secrets, first)
    finally:
        host.remove()
