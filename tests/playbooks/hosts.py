"""Systemd container hosts for the playbook tests, and the ansible-playbook runner.

Hosts are podman containers of the image scripts/host-image.sh builds; every name starts
with orgo-it- and is removed before use (a killed run leaves podman's records behind).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.harness.processes import free_port

REPO = Path(__file__).resolve().parents[2]
PLAYBOOKS = REPO / "playbooks"
BIN = Path(sys.executable).parent
# testinfra's podman:// backend calls podman with this process's environment: runc and
# the project's ulimits must apply there too.
os.environ.setdefault("CONTAINERS_CONF", str(REPO / "scripts" / "podman" / "containers.conf"))
PODMAN_ENV = dict(os.environ)
# The Debian release of the test hosts and its image: ORGO_HOST_RELEASE, as scripts/podman/env.sh
# (which make up and scripts/host-image.sh read too) decides it and its default.
RELEASES = {"bookworm": "12", "trixie": "13"}
RELEASE, IMAGE, *RUN_OPTIONS = subprocess.run(
    [
        "bash",
        "-c",
        ". scripts/podman/env.sh"
        ' && echo "$ORGO_HOST_RELEASE $ORGO_HOST_IMAGE $ORGO_HOST_RUN_OPTIONS"',
    ],
    cwd=REPO,
    stdout=subprocess.PIPE,
    text=True,
    check=True,
).stdout.split()
PODMAN_ENV["ORGO_HOST_RELEASE"] = RELEASE


def release_vars(role: str) -> dict[str, Any]:
    """ROLE's variables for the test hosts' release (its vars/Debian-<major>.yml)."""
    path = PLAYBOOKS / "roles" / role / "vars" / f"Debian-{RELEASES[RELEASE]}.yml"
    return dict(yaml.safe_load(path.read_text()))


def missing_tools() -> list[str]:
    """Executables these tests need that are not installed (make system-deps installs them)."""
    return [tool for tool in ("podman", "runc", "debootstrap", "openssl") if not shutil.which(tool)]


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], env=PODMAN_ENV, capture_output=True, text=True, check=check
    )


def build_image() -> None:
    subprocess.run([str(REPO / "scripts" / "host-image.sh")], env=PODMAN_ENV, check=True)


@dataclass
class Host:
    """A running systemd container; published maps container ports to loopback ports."""

    name: str
    published: dict[int, int] = field(default_factory=dict)

    def exec(self, command: str, check: bool = True) -> str:
        return podman("exec", self.name, "bash", "-c", command, check=check).stdout

    def wait_running(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            state = self.exec("systemctl is-system-running || true").strip()
            if state in ("running", "degraded"):
                return
            time.sleep(1)
        raise AssertionError(f"{self.name}: systemd state {state!r} after {timeout}s")

    def remove(self) -> None:
        podman("rm", "-f", "-t", "2", self.name, check=False)


def start_host(
    name: str, ports: tuple[int, ...] = (), network: str | None = None, ip: str | None = None
) -> Host:
    """Starts the container afresh (removing a stale one) with ports published on loopback,
    optionally on a podman network with a fixed address."""
    podman("rm", "-f", "-t", "2", name, check=False)
    host = Host(name, {port: free_port() for port in ports})
    # As make up runs its host (scripts/podman/env.sh): the units' sandboxes enforced.
    args = ["run", "-d", "--name", name, "--hostname", name, *RUN_OPTIONS]
    if network:
        args += ["--network", network]
    if ip:
        args += ["--ip", ip]
    for container_port, host_port in host.published.items():
        args += ["-p", f"127.0.0.1:{host_port}:{container_port}"]
    podman(*args, IMAGE)
    host.wait_running()
    return host


def create_network(name: str, subnet: str) -> None:
    """A private podman network (replacing a stale one of the same name)."""
    podman("network", "rm", "-f", name, check=False)
    podman("network", "create", "--subnet", subnet, name)


@dataclass
class Run:
    """The outcome of one ansible-playbook run."""

    returncode: int
    output: str

    @property
    def changed_tasks(self) -> list[str]:
        """`host: task` for every task that reported a change."""
        changed, task = [], ""
        for line in self.output.splitlines():
            header = re.match(r"^(?:TASK|RUNNING HANDLER) \[(.*)\]", line)
            if header:
                task = header.group(1)
            hit = re.match(r"^changed: \[([^\]]+)\]", line)
            if hit:
                changed.append(f"{hit.group(1)}: {task}")
        return changed

    def recap(self, host: str) -> dict[str, int]:
        match = re.search(rf"^{re.escape(host)}\s+:\s+(.*)$", self.output, re.MULTILINE)
        assert match, f"no recap for {host}:\n{self.output[-3000:]}"
        return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))}


def playbook(
    name: str, inventory: Path, extra_vars: dict[str, str], *args: str, check: bool = True
) -> Run:
    """Runs playbooks/NAME against INVENTORY; check=True fails with the output's tail."""
    command = ["ansible-playbook", "-i", str(inventory), str(PLAYBOOKS / name)]
    for key, value in extra_vars.items():
        command += ["-e", f"{key}={value}"]
    return ansible(*command, *args, check=check)


def ansible(*command: str, check: bool = True, **env: str) -> Run:
    """Runs an Ansible command (`ansible-playbook ...`, `ansible ...`) with the config the
    docs tell operators to use (playbooks/ansible.cfg); ENV adds to its environment."""
    environment = {
        **PODMAN_ENV,
        "ANSIBLE_CONFIG": str(PLAYBOOKS / "ansible.cfg"),
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
        "PATH": f"{BIN}:{os.environ['PATH']}",
        **env,
    }
    done = subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        env=environment,
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    run = Run(done.returncode, done.stdout + done.stderr)
    if check and run.returncode != 0:
        failed = f"{shlex.join(command)} failed (rc={run.returncode})"
        raise AssertionError(f"{failed}:\n{run.output[-6000:]}")
    return run
