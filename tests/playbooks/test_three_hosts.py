"""The three-host layout: data / app / monitoring hosts on a private podman network.

One converge of site.yml over three systemd container hosts whose addresses come only from
the inventory; then the app on one host must reach PostgreSQL, Redis and RabbitMQ on
another, over TLS verified against the platform's CA and with passwords full of URL and
quoting characters (set by the inventory), and Prometheus on the third must scrape them
all. The backups of the data host go to an S3-compatible server (`rclone serve s3`) on the
control machine's address on the network, and the drills at the end restore from it."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import testinfra
import yaml

from observability.config import BACKUP_FAILURE, BACKUP_SUCCESS
from tests.harness.processes import wait_until
from tests.playbooks.checks import (
    SCRAPE_JOBS,
    admin_headers,
    backup_outcome,
    database_fingerprint,
    every_target_up,
    host_time,
    https_client,
    newest_dump,
    prometheus_data,
    psql,
    task_reaches_the_worker,
    wait_ready,
)
from tests.playbooks.conftest import write_test_settings
from tests.playbooks.hosts import (
    IMAGE,
    PLAYBOOKS,
    PODMAN_ENV,
    Host,
    Run,
    create_network,
    playbook,
    podman,
    release_vars,
    start_host,
)
from tests.playbooks.s3 import S3Server, serve_s3

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
DATA_PORTS = (5432, 6379, 5671)
# Passwords an inventory may well hold: characters that end a URL's userinfo, start its
# query or fragment, or end or escape a double-quoted systemd value.
AWKWARD = 'p@ss/w:rd#?"%$`\\'
PASSWORDS = {
    name: f"{AWKWARD}-{name}-{secrets.token_hex(8)}"
    for name in (
        "orgo_postgresql_password",
        "orgo_postgres_exporter_password",
        "orgo_redis_password",
        "orgo_rabbitmq_password",
    )
}
# The backups' bucket, and the prefix the role defaults to (<deployment>/postgresql).
BUCKET = "orgo-backups"
BACKUPS = f"{BUCKET}/{DEPLOYMENT}/postgresql"


@dataclass
class ThreeHosts:
    hosts: dict[str, Host]
    inventory: Path
    secrets: Path
    first_run: Run
    s3: S3Server

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
    (everything / "passwords.yml").write_text(yaml.safe_dump(PASSWORDS))
    # Prometheus is published (the tests query it through a port mapping), Alertmanager not:
    # only the monitoring host may reach it.
    monitoring = yaml.safe_load((everything / "monitoring.yml").read_text())
    monitoring["common_firewall_publish_alertmanager"] = False
    (everything / "monitoring.yml").write_text(yaml.safe_dump(monitoring))
    groups: dict[str, dict[str, dict[str, dict[str, str]]]] = {}
    for name, (address, member_of, _) in HOSTS.items():
        for group in member_of:
            groups.setdefault(group, {"hosts": {}})["hosts"][name] = {
                "ansible_host": name,
                "orgo_listen_address": address,
            }
    (inventory / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": groups}}))
    return inventory


def network_gateway(network: str) -> str:
    """The control machine's address on a podman network (its bridge exists once a
    container is attached)."""
    template = "{{range .Subnets}}{{.Gateway}}{{end}}"
    return podman("network", "inspect", network, "--format", template).stdout.strip()


def backups_to_s3(inventory: Path, secrets: Path, s3: S3Server) -> None:
    """Turns on the backup role's S3 target: settings in the inventory (the endpoint's CA
    among them: it is a private one), credentials in the deployment's secrets directory
    (where the role reads them from, mode 0600). The dumps' age key pair is left to the role
    to create."""
    settings = {
        "backup_s3_enabled": True,
        "backup_s3_endpoint": s3.endpoint,
        "backup_s3_bucket": BUCKET,
        "backup_s3_ca_certificate": s3.ca_file.read_text(),
    }
    (inventory / "group_vars" / "all" / "backup.yml").write_text(yaml.safe_dump(settings))
    secrets.mkdir(mode=0o700, exist_ok=True)
    credentials = {
        "backup-s3-access-key-id": s3.access_key_id,
        "backup-s3-secret-access-key": s3.secret_access_key,
    }
    for name, value in credentials.items():
        (secrets / name).write_text(value)
        (secrets / name).chmod(0o600)


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
        with serve_s3(network_gateway(NETWORK), directory / "s3") as s3:
            address, port = s3.endpoint.removeprefix("https://").split(":")
            reach = f"timeout 5 bash -c 'echo > /dev/tcp/{address}/{port}'"
            probe = podman("exec", "orgo-it-data", "bash", "-c", reach, check=False)
            assert probe.returncode == 0, f"the data host cannot reach {s3.endpoint}"
            s3.client("mkdir", f"s3:{BUCKET}")
            backups_to_s3(inventory, secrets, s3)
            first = playbook("site.yml", inventory, {})
            yield ThreeHosts(hosts, inventory, secrets, first, s3)
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
    postgresql = f"postgresql-{release_vars('postgresql')['postgresql_version']}"
    cache = release_vars("redis")["redis_package"]
    for package in (postgresql, cache, "rabbitmq-server", "prometheus"):
        assert not app.package(package).is_installed, package


def test_a_task_travels_from_the_app_host_through_the_data_host(
    three: ThreeHosts, tmp_path: Path
) -> None:
    ca_file = tmp_path / "orgo.crt"
    ca_file.write_text(three.hosts["orgo-it-app"].exec("cat /etc/nginx/tls/orgo.crt"))
    with https_client(three.hosts["orgo-it-app"].published[443], ca_file) as client:
        task_reaches_the_worker(client, admin_headers(three.secrets, client))


def test_data_services_speak_only_verified_tls_to_other_hosts(three: ThreeHosts) -> None:
    """From the app host, with the app's own libraries: PostgreSQL, Redis and RabbitMQ on
    the data host refuse a plaintext connection, fail verification without the platform's
    CA, and work verified against it (which is how the app and the exporters connect)."""
    app = three.hosts["orgo-it-app"]
    podman("cp", str(Path(__file__).with_name("tls_probe.py")), f"{app.name}:/root/tls_probe.py")
    settings = {
        "host": three.address("orgo-it-data"),
        "ca": "/etc/orgo-tls/ca.crt",
        "postgres": {
            "port": 5432,
            "user": "orgo",
            "database": "orgo",
            "password": PASSWORDS["orgo_postgresql_password"],
        },
        "redis": {"port": 6379, "password": PASSWORDS["orgo_redis_password"]},
        "amqp": {
            "port": 5671,
            "user": "orgo",
            "vhost": "orgo",
            "password": PASSWORDS["orgo_rabbitmq_password"],
        },
    }
    probe = subprocess.run(
        [
            "podman",
            "exec",
            "-i",
            app.name,
            "/opt/orgo/current/venv/bin/python",
            "/root/tls_probe.py",
        ],
        input=json.dumps(settings),
        env=PODMAN_ENV,
        capture_output=True,
        text=True,
        check=True,
    )
    outcome = json.loads(probe.stdout)
    for service, ways in outcome.items():
        assert ways["verified"] == "ok", (service, ways)
        assert ways["plaintext"] != "ok", (service, ways)
        assert "CERTIFICATE_VERIFY_FAILED" in ways["without the CA"], (service, ways)
    assert "no encryption" in outcome["postgres"]["plaintext"], outcome["postgres"]
    plain_amqp = app.exec(
        f"timeout 3 bash -c 'echo > /dev/tcp/{settings['host']}/5672' && echo open || echo closed"
    )
    assert plain_amqp.strip() == "closed", "RabbitMQ's plaintext port is open"


def test_the_exporters_and_the_apis_local_cache_verify_tls_too(three: ThreeHosts) -> None:
    """The postgres and redis exporters reach their service (pg_up, redis_up: 1, which
    their own scrape's `up` does not tell), and every API process's local cache tracks
    its keys over the same verified TLS."""
    port = three.hosts["orgo-it-mon"].published[9090]
    for query in (f'pg_up{{env="{DEPLOYMENT}"}} == 1', f'redis_up{{env="{DEPLOYMENT}"}} == 1'):
        wait_until(
            lambda q=query: prometheus_data(port, "/api/v1/query", query=q)["result"],
            120,
            query,
            5,
        )
    journal = three.hosts["orgo-it-app"].exec("journalctl --no-pager -o cat -u orgo-api")
    assert "redis tracks the local cache's keys; local copies on" in journal
    assert "CERTIFICATE_VERIFY_FAILED" not in journal


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


def test_only_the_monitoring_host_reaches_alertmanager(three: ThreeHosts) -> None:
    """Alertmanager has no authentication, so the platform's other hosts, which reach every
    other internal port, do not reach it; its own host's Prometheus does."""
    monitoring = three.address("orgo-it-mon")
    reach = f"timeout 3 bash -c 'echo > /dev/tcp/{monitoring}/9093'"
    assert three.hosts["orgo-it-app"].exec(f"{reach} && echo open || echo closed").strip() == (
        "closed"
    )
    assert (
        three.hosts["orgo-it-app"]
        .exec(f"timeout 3 bash -c 'echo > /dev/tcp/{monitoring}/9100' && echo open")
        .strip()
        == "open"
    )
    assert three.hosts["orgo-it-mon"].exec(f"{reach} && echo open").strip() == "open"


def test_the_s3_credentials_are_only_in_the_backup_users_config(three: ThreeHosts) -> None:
    data = testinfra.get_host("podman://orgo-it-data")
    config = data.file("/etc/orgo-backup/rclone.conf")
    assert (config.user, config.group, config.mode) == ("root", "postgres", 0o640)
    assert three.s3.secret_access_key in config.content_string
    for path in ("/usr/local/sbin/orgo-backup", "/etc/systemd/system/orgo-backup.service"):
        assert three.s3.secret_access_key not in data.file(path).content_string, path
    assert three.s3.secret_access_key not in three.first_run.output


def decrypted_on(host: Host, encrypted: Path, identity: Path) -> str:
    """The sha256 of ENCRYPTED decrypted on HOST by age with the identity (on stdin)."""
    podman("cp", str(encrypted), f"{host.name}:/root/{encrypted.name}")
    done = subprocess.run(
        ["podman", "exec", "-i", host.name, "bash", "-c",
         f"age --decrypt --identity - /root/{encrypted.name} | sha256sum"],
        input=identity.read_text(), env=PODMAN_ENV, capture_output=True, text=True, check=True,
    )  # fmt: skip
    host.exec(f"rm -f /root/{encrypted.name}")
    return done.stdout.split()[0]


def test_backup_to_s3_then_restore_from_it_brings_every_row_back(
    three: ThreeHosts, tmp_path: Path
) -> None:
    """backup.yml uploads the dump encrypted on the host (the object is age's format, no
    trace of pg_dump's, and decrypts with the identity kept on the control machine, byte
    for byte, into the local dump); the host holds only the recipient. With the local dumps
    gone and rows deleted and changed, restore.yml -e backup_source=s3 brings every row
    back (downloading and decrypting)."""
    data = three.hosts["orgo-it-data"]
    identity = three.secrets / "backup-age-identity"
    assert identity.stat().st_mode & 0o777 == 0o600
    assert "AGE-SECRET-KEY-1" not in data.exec("grep -rl AGE-SECRET-KEY-1 /etc /usr/local || true")
    ca_file = tmp_path / "orgo.crt"
    ca_file.write_text(three.hosts["orgo-it-app"].exec("cat /etc/nginx/tls/orgo.crt"))
    with https_client(three.hosts["orgo-it-app"].published[443], ca_file) as client:
        headers = admin_headers(three.secrets, client)
        for title in ("one", "two", "three"):
            client.post("/api/v1/tasks", json={"title": title}, headers=headers).raise_for_status()
    # The worker is done when every task has its activity entry: then nothing changes rows.
    unprocessed = (
        "select count(*) from tasks t"
        " where not exists (select from task_activity a where a.task_id = t.id)"
    )
    wait_until(lambda: psql(data, unprocessed) == "0", 120, "every event processed", 2)
    before = database_fingerprint(data)

    playbook("backup.yml", three.inventory, {})

    dump = newest_dump(data)
    uploaded_name = f"{Path(dump).name}.age"
    assert uploaded_name in three.s3.objects(BACKUPS)
    assert Path(dump).name not in three.s3.objects(BACKUPS)  # never the plaintext
    uploaded = tmp_path / uploaded_name
    three.s3.client("copyto", f"s3:{BACKUPS}/{uploaded_name}", str(uploaded))
    content = uploaded.read_bytes()
    assert content.startswith(b"age-encryption.org/v1\n")
    assert b"PGDMP" not in content and b"Check the backups" not in content
    local_sum = data.exec(f"sha256sum {dump}").split()[0]
    assert decrypted_on(data, uploaded, identity) == local_sum

    data.exec("rm -f /var/backups/orgo/*.dump")
    psql(
        data,
        "delete from notifications; delete from task_activity; update tasks set title = 'lost'",
    )
    assert database_fingerprint(data) != before

    run = playbook("restore.yml", three.inventory, {"backup_source": "s3"})

    assert database_fingerprint(data) == before
    assert "AGE-SECRET-KEY-1" not in run.output
    assert data.exec("ls /var/backups/orgo").split() == [Path(dump).name]  # no .age left
    with https_client(three.hosts["orgo-it-app"].published[443], ca_file) as client:
        wait_ready(client)


def old_dump(directory: Path, name: str) -> Path:
    """A file 30 days old, named like a dump: older than backup_retention_days (7)."""
    path = directory / name
    path.write_bytes(b"an old dump")
    month_ago = time.time() - 30 * 86400
    os.utime(path, (month_ago, month_ago))
    return path


def test_the_host_never_deletes_from_the_bucket(three: ThreeHosts, tmp_path: Path) -> None:
    """Retention in the bucket is the bucket's (lifecycle, object lock): a backup leaves
    dumps far older than backup_retention_days where they are. One of them is immutable
    where the S3 server keeps it, so a deletion the host even tried would fail the run; the
    backup script holds no rclone verb that deletes."""
    old = [old_dump(tmp_path, f"orgo-2020010{day}T023000Z.dump.age") for day in (1, 2)]
    for path in old:
        three.s3.client("copyto", str(path), f"s3:{BACKUPS}/{path.name}")
    stored = three.s3.stored(f"{BACKUPS}/{old[1].name}")
    subprocess.run(["chattr", "+i", str(stored)], check=True)
    try:
        before = three.s3.objects(BACKUPS)
        run = playbook("backup.yml", three.inventory, {}, check=False)
        after = three.s3.objects(BACKUPS)
    finally:
        subprocess.run(["chattr", "-i", str(stored)], check=True)
    assert run.returncode == 0, run.output[-3000:]
    newest = f"{Path(newest_dump(three.hosts['orgo-it-data'])).name}.age"
    assert set(after) == set(before) | {newest}
    script = three.hosts["orgo-it-data"].exec("cat /usr/local/sbin/orgo-backup")
    calls = [line for line in script.splitlines() if "rclone --config" in line]
    deleting = re.compile(r"\s(delete|deletefile|purge|sync|move|rmdir|rmdirs|cleanup)\s")
    assert calls and not [call for call in calls if deleting.search(call)], calls


def test_a_failed_upload_fails_the_backup_and_names_it_without_the_secret(
    three: ThreeHosts,
) -> None:
    """With the bucket gone the unit fails, backup.yml fails with the unit's journal of that
    run, neither shows the credentials, and node exporter serves the failure: the failure
    time is this run's, the last success stays the earlier one."""
    data = three.hosts["orgo-it-data"]
    address = three.address("orgo-it-data")
    earlier = backup_outcome(data, address)
    before = host_time(data)
    three.s3.client("purge", f"s3:{BUCKET}")
    try:
        run = playbook("backup.yml", three.inventory, {}, check=False)
        journal = three.hosts["orgo-it-data"].exec(
            "journalctl --sync && journalctl --no-pager --output=cat -u orgo-backup.service"
        )
        state = three.hosts["orgo-it-data"].exec("systemctl is-failed orgo-backup.service || true")
    finally:
        three.s3.client("mkdir", f"s3:{BUCKET}")
    assert run.returncode != 0
    assert state.strip() == "failed"
    message = "orgo-backup: FAILED to upload orgo-"
    assert message in journal
    assert message in run.output and "NoSuchBucket" in run.output
    for secret in (three.s3.secret_access_key, three.s3.access_key_id):
        assert secret not in journal
        assert secret not in run.output
    outcome = backup_outcome(data, address)
    assert earlier.get(BACKUP_SUCCESS, 0) < before, earlier
    assert outcome[BACKUP_FAILURE] >= before, outcome
    assert outcome[BACKUP_SUCCESS] == earlier.get(BACKUP_SUCCESS, 0), outcome
