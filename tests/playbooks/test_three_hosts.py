"""The three-host layout: data / app / monitoring hosts on a private podman network.

One converge of site.yml over three systemd container hosts whose addresses come only from
the inventory; then the app on one host must reach PostgreSQL, Redis and RabbitMQ on
another, and Prometheus on the third must scrape them all.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import testinfra
import yaml

from tests.playbooks.checks import (
    SCRAPE_JOBS,
    admin_headers,
    every_target_up,
    https_client,
    task_reaches_the_worker,
)
from tests.playbooks.conftest import write_test_settings
from tests.playbooks.hosts import (
    IMAGE,
    PLAYBOOKS,
    Host,
    Run,
    create_network,
    playbook,
    podman,
    start_host,
)

pytestmark = pytest.mark.timeout(2400)

NETWORK = "orgo-it-three"
DEPLOYMENT = "three-hosts"
SUBNET = "10.89.77.0/24"
# container name -> (address on the network, inventory groups, ports published on loopback)
HOSTS = {
    "orgo-it-data": ("10.89.77.10", ["orgo_db", "orgo_mq", "orgo_cache"], ()),
    "orgo-it-app": ("10.89.77.11", ["orgo_app"], (443,)),
    "orgo-it-mon": ("10.89.77.12", ["orgo_monitoring"], (9090,)),
}
DATA_PORTS = (5432, 6379, 5672)


@dataclass
class ThreeHosts:
    hosts: dict[str, Host]
    secrets: Path
    first_run: Run

    def address(self, name: str) -> str:
        return HOSTS[name][0]


def three_host_inventory(directory: Path, secrets: Path) -> Path:
    """inventories/local's settings with the hosts, groups and addresses of HOSTS."""
    inventory = directory / "inventory"
    shutil.copytree(PLAYBOOKS / "inventories" / "local" / "group_vars", inventory / "group_vars")
    everything = inventory / "group_vars" / "all"
    platform = yaml.safe_load((everything / "platform.yml").read_text())
    del platform["orgo_listen_address"]  # each host's own, below
    (everything / "platform.yml").write_text(yaml.safe_dump(platform))
    connection = yaml.safe_load((everything / "connection.yml").read_text())
    del connection["ansible_host"]
    (everything / "connection.yml").write_text(yaml.safe_dump(connection))
    write_test_settings(inventory, secrets, DEPLOYMENT)
    groups: dict[str, dict[str, dict[str, dict[str, str]]]] = {}
    for name, (address, member_of, _) in HOSTS.items():
        for group in member_of:
            groups.setdefault(group, {"hosts": {}})["hosts"][name] = {
                "ansible_host": name,
                "orgo_listen_address": address,
            }
    (inventory / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": groups}}))
    return inventory


@pytest.fixture(scope="module")
def three(host_image: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreeHosts]:
    directory = tmp_path_factory.mktemp("three")
    secrets = directory / "secrets"
    inventory = three_host_inventory(directory, secrets)
    create_network(NETWORK, SUBNET)
    hosts: dict[str, Host] = {}
    try:
        for name, (address, _, ports) in HOSTS.items():
            hosts[name] = start_host(name, ports=ports, network=NETWORK, ip=address)
        first = playbook("site.yml", inventory, {})
        yield ThreeHosts(hosts, secrets, first)
    finally:
        for host in hosts.values():
            host.remove()
        podman("network", "rm", "-f", NETWORK, check=False)


def test_every_host_converges(three: ThreeHosts) -> None:
    for name in HOSTS:
        recap = three.first_run.recap(name)
        assert recap["failed"] == 0 and recap["unreachable"] == 0, recap


def test_data_services_listen_on_the_data_hosts_private_address(three: ThreeHosts) -> None:
    data = testinfra.get_host("podman://orgo-it-data")
    address = three.address("orgo-it-data")
    for port in DATA_PORTS:
        assert data.socket(f"tcp://{address}:{port}").is_listening, port
        assert not data.socket(f"tcp://0.0.0.0:{port}").is_listening, port


def test_the_app_host_runs_only_the_app(three: ThreeHosts) -> None:
    app = testinfra.get_host("podman://orgo-it-app")
    assert app.service("orgo-api").is_running
    assert app.service("orgo-worker").is_running
    assert app.socket(f"tcp://{three.address('orgo-it-app')}:8000").is_listening
    for package in ("postgresql-15", "redis-server", "rabbitmq-server", "prometheus"):
        assert not app.package(package).is_installed, package


def test_a_task_travels_from_the_app_host_through_the_data_host(
    three: ThreeHosts, tmp_path: Path
) -> None:
    ca_file = tmp_path / "orgo.crt"
    ca_file.write_text(three.hosts["orgo-it-app"].exec("cat /etc/nginx/tls/orgo.crt"))
    with https_client(three.hosts["orgo-it-app"].published[443], ca_file) as client:
        task_reaches_the_worker(client, admin_headers(three.secrets, client))


def test_prometheus_on_the_monitoring_host_scrapes_all_three(three: ThreeHosts) -> None:
    expected = dict.fromkeys(SCRAPE_JOBS, 1)
    expected["node"] = len(HOSTS)
    every_target_up(three.hosts["orgo-it-mon"].published[9090], DEPLOYMENT, expected)


def test_the_firewall_keeps_strangers_off_internal_ports(three: ThreeHosts) -> None:
    """A container on the same network that is not in the inventory reaches none of them."""
    stranger = "orgo-it-stranger"
    podman("rm", "-f", stranger, check=False)
    podman(
        "run",
        "-d",
        "--name",
        stranger,
        "--network",
        NETWORK,
        "--ip",
        "10.89.77.99",
        IMAGE,
        "sleep",
        "300",
    )
    try:
        data = three.address("orgo-it-data")
        for port in DATA_PORTS:
            probe = podman(
                "exec",
                stranger,
                "timeout",
                "3",
                "bash",
                "-c",
                f"echo > /dev/tcp/{data}/{port}",
                check=False,
            )
            assert probe.returncode != 0, f"{data}:{port} reachable from outside the inventory"
        app = testinfra.get_host("podman://orgo-it-app")
        reach = app.run(f"timeout 3 bash -c 'echo > /dev/tcp/{data}/5432'")
        assert reach.rc == 0, "the app host cannot reach PostgreSQL on the data host"
    finally:
        podman("rm", "-f", "-t", "0", stranger, check=False)
