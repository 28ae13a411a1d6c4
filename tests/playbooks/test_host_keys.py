"""SSH host keys are checked for real inventories: with the config the docs tell operators
to use (playbooks/ansible.cfg), under Mitogen's strategy and Ansible's own.

Statically: the effective configuration checks host keys, and preflight stops an inventory
whose hosts have no key in its known_hosts file, naming the file. For real: Ansible connects
over SSH to a systemd container host running sshd only when the known_hosts file the
inventory names (the example inventory's wiring, copied) holds the host's own key; a wrong
key or none refuses the connection.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.playbooks.hosts import PLAYBOOKS, REPO, Host, Run, ansible, podman, start_host

pytestmark = pytest.mark.timeout(600)

GROUPS = ["orgo_db", "orgo_mq", "orgo_cache", "orgo_app", "orgo_monitoring"]
STRATEGIES = ["mitogen_linear", "linear"]


def test_the_config_operators_use_checks_host_keys() -> None:
    readme = (REPO / "README.md").read_text()
    assert "ANSIBLE_CONFIG=playbooks/ansible.cfg ansible-playbook -i playbooks/inventories/" in (
        readme.replace("\n", " ")
    )
    dump = ansible("ansible-config", "dump", "--only-changed", "--type", "all").output
    assert "HOST_KEY_CHECKING(" in dump
    [checking] = [line for line in dump.splitlines() if line.startswith("HOST_KEY_CHECKING(")]
    assert checking.endswith("= True"), checking
    [ssh_args] = [line for line in dump.splitlines() if "ssh_args(" in line]
    assert "-o StrictHostKeyChecking=yes" in ssh_args, ssh_args


def test_preflight_names_hosts_whose_key_is_not_in_the_inventorys_known_hosts() -> None:
    """The example inventory as shipped: its known_hosts file holds comments only."""
    example = PLAYBOOKS / "inventories" / "example"
    run = ansible(
        "ansible-playbook", "-i", str(example), str(PLAYBOOKS / "site.yml"),
        "--tags", "preflight", check=False,
    )  # fmt: skip
    assert run.returncode != 0
    message = (
        f"host db1.example.internal: no SSH host key for db1.example.internal in"
        f" {example}/known_hosts (orgo_ssh_known_hosts), and host keys are checked"
    )
    assert message in " ".join(run.output.split())


@dataclass
class SshHost:
    host: Host
    address: str
    host_key: str  # its ed25519 public key line, read out of band (through podman)
    client_key: Path
    directory: Path

    def inventory(self, known_hosts: str) -> Path:
        """A one-host inventory reaching the host over SSH, with the example inventory's
        connection settings (orgo_ssh_known_hosts and ansible_ssh_common_args) and a
        known_hosts file of the given content next to it."""
        inventory = self.directory / "inventory"
        shutil.rmtree(inventory, ignore_errors=True)
        (inventory / "group_vars" / "all").mkdir(parents=True)
        shutil.copy(
            PLAYBOOKS / "inventories" / "example" / "group_vars" / "all" / "connection.yml",
            inventory / "group_vars" / "all" / "connection.yml",
        )
        (inventory / "known_hosts").write_text(known_hosts)
        host = {
            "ansible_host": self.address,
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(self.client_key),
            "orgo_listen_address": "127.0.0.1",
            "orgo_secrets_dir": str(self.directory / "secrets"),
        }
        groups = {group: {"hosts": {self.host.name: host}} for group in GROUPS}
        (inventory / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": groups}}))
        return inventory

    def ping(self, known_hosts: str, strategy: str, sockets: Path) -> Run:
        """ansible -m ping; OpenSSH's shared connections live in SOCKETS, so that a
        connection verified by an earlier test is not reused (ControlPersist)."""
        return ansible(
            "ansible", "all", "-i", str(self.inventory(known_hosts)), "-m", "ansible.builtin.ping",
            check=False, ANSIBLE_STRATEGY=strategy, ANSIBLE_SSH_CONTROL_PATH_DIR=str(sockets),
        )  # fmt: skip


def generated_key(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def ssh_host(host_image: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshHost]:
    directory = tmp_path_factory.mktemp("ssh")
    client_key = generated_key(directory / "client")
    host = start_host("orgo-it-ssh")
    try:
        host.exec(
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq"
            " --no-install-recommends openssh-server >/dev/null && systemctl start ssh"
        )
        host.exec(
            "install -d -m 0700 /root/.ssh && cat > /root/.ssh/authorized_keys"
            f" <<'KEY'\n{(directory / 'client.pub').read_text()}KEY"
        )
        template = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
        address = podman("inspect", "-f", template, host.name).stdout.strip()
        host_key = host.exec("cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub").strip()
        yield SshHost(host, address, host_key, client_key, directory)
    finally:
        host.remove()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_hosts_own_key_lets_ansible_in(
    ssh_host: SshHost, strategy: str, tmp_path: Path
) -> None:
    run = ssh_host.ping(f"{ssh_host.address} {ssh_host.host_key}\n", strategy, tmp_path)
    assert run.returncode == 0, run.output
    assert f"{ssh_host.host.name} | SUCCESS" in run.output


# What each strategy's SSH transport reports when the key is not the known one, or unknown.
REFUSED = {
    "mitogen_linear": (
        "Host key checking is enabled, and SSH reported an unrecognized or mismatching host key",
    )
    * 2,
    "linear": (
        "REMOTE HOST IDENTIFICATION HAS CHANGED",
        "and you have requested strict checking.",
    ),
}


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_wrong_host_key_refuses_the_connection(
    ssh_host: SshHost, strategy: str, tmp_path: Path
) -> None:
    impostor = generated_key(tmp_path / "impostor").with_suffix(".pub").read_text()
    impostor_key = " ".join(impostor.split()[:2])
    run = ssh_host.ping(f"{ssh_host.address} {impostor_key}\n", strategy, tmp_path)
    assert run.returncode != 0
    assert f"{ssh_host.host.name} | UNREACHABLE!" in run.output
    assert REFUSED[strategy][0] in " ".join(run.output.split()), run.output


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_an_unknown_host_is_refused(ssh_host: SshHost, strategy: str, tmp_path: Path) -> None:
    run = ssh_host.ping("# no keys yet\n", strategy, tmp_path)
    assert run.returncode != 0
    assert f"{ssh_host.host.name} | UNREACHABLE!" in run.output
    assert REFUSED[strategy][1] in " ".join(run.output.split()), run.output


def test_preflight_stops_an_unknown_host_before_connecting(ssh_host: SshHost) -> None:
    inventory = ssh_host.inventory("# no keys yet\n")
    run = ansible(
        "ansible-playbook", "-i", str(inventory), str(PLAYBOOKS / "site.yml"), check=False
    )
    assert run.returncode != 0
    assert f"no SSH host key for {ssh_host.address} in {inventory}/known_hosts" in " ".join(
        run.output.split()
    )
    assert "Baseline of every host" not in run.output
