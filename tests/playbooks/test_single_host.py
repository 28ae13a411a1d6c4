"""The single-host layout (inventories/local) converged into a systemd container host.

One host is converged once per module; the tests then read it (idempotence, testinfra,
end-to-end calls through nginx, Prometheus) and finally drill it (a settings change, a
backup and restore, a restart of the whole host). Order matters: drills come last.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
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
    prometheus_data,
    psql,
    task_reaches_the_worker,
    wait_ready,
)
from tests.playbooks.conftest import Platform
from tests.playbooks.hosts import REPO, playbook, podman, release_vars

pytestmark = pytest.mark.timeout(1800)

# What the hosts' Debian release names differently (the roles' vars/Debian-<major>.yml).
POSTGRESQL = release_vars("postgresql")["postgresql_version"]
PG_CONFIG = f"/etc/postgresql/{POSTGRESQL}/main"
CACHE = release_vars("redis")
CACHE_SERVICE, CACHE_USER, CACHE_CONFIG_DIR = (
    CACHE["redis_service"],
    CACHE["redis_user"],
    CACHE["redis_config_dir"],
)
SERVICES = [
    f"postgresql@{POSTGRESQL}-main",
    CACHE_SERVICE,
    "rabbitmq-server",
    "prometheus",
    "prometheus-alertmanager",
    "prometheus-node-exporter",
    "prometheus-postgres-exporter",
    "prometheus-redis-exporter",
    "prometheus-blackbox-exporter",
    "nginx",
    "orgo-api",
    "orgo-worker",
    "ssh",
    "nftables",
]
# The host's name in inventories/local (the container's name is its ansible_host).
INVENTORY_HOST = "orgo-local"
# Published through podman port mappings; everything else listens on loopback only.
PUBLIC_PORTS = {22, 443, 9090, 9093}
INTERNAL_PORTS = {5432, 6379, 5671, 15692, 9100, 9187, 9121, 9115, 8000, 9464}


@pytest.fixture(scope="module")
def host(platform: Platform) -> testinfra.host.Host:
    return testinfra.get_host(f"podman://{platform.host.name}")


@pytest.fixture(scope="module")
def ca_file(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """nginx's self-signed certificate, so that clients verify it instead of ignoring TLS."""
    path = tmp_path_factory.mktemp("tls") / "orgo.crt"
    path.write_text(platform.host.exec("cat /etc/nginx/tls/orgo.crt"))
    return path


def api(platform: Platform, ca_file: Path) -> httpx.Client:
    return https_client(platform.https_port, ca_file)


def started_at(platform: Platform) -> dict[str, str]:
    """When each service last entered the active state (changes on every restart)."""
    return {
        service: platform.host.exec(
            f"systemctl show -p ActiveEnterTimestampMonotonic --value {service}"
        ).strip()
        for service in SERVICES
    }


def test_second_converge_changes_nothing(platform: Platform) -> None:
    assert platform.first_run.recap(INVENTORY_HOST)["failed"] == 0
    second = platform.converge()
    assert second.changed_tasks == [], "not idempotent, changed:\n" + "\n".join(
        second.changed_tasks
    )


@pytest.mark.parametrize("service", SERVICES)
def test_service_enabled_and_running(host: testinfra.host.Host, service: str) -> None:
    unit = host.service(service)
    assert unit.is_enabled
    assert unit.is_running


def test_backup_timer_is_scheduled(host: testinfra.host.Host) -> None:
    assert host.service("orgo-backup.timer").is_enabled
    assert host.run("systemctl is-active orgo-backup.timer").stdout.strip() == "active"


def test_sockets_listen_only_on_intended_addresses(host: testinfra.host.Host) -> None:
    listening = set()
    for line in host.check_output("ss -Hltn").splitlines():
        address, port = line.split()[3].rsplit(":", 1)
        listening.add((address, int(port)))
    exposed = {(a, p) for a, p in listening if a not in ("127.0.0.1", "[::1]")}
    assert {p for _, p in exposed} <= PUBLIC_PORTS, f"listening beyond loopback: {exposed}"
    assert {p for a, p in listening if a == "127.0.0.1"} >= INTERNAL_PORTS


@pytest.mark.parametrize(
    ("path", "owner", "group", "mode"),
    [
        ("/etc/orgo/orgo.env", "root", "orgo", 0o640),
        (CACHE["redis_config_file"], CACHE_USER, CACHE_USER, 0o640),
        ("/etc/nginx/tls/orgo.key", "root", "root", 0o600),
        (f"{PG_CONFIG}/server.key", "postgres", "postgres", 0o600),
        (f"{CACHE_CONFIG_DIR}/tls/server.key", CACHE_USER, CACHE_USER, 0o600),
        ("/etc/rabbitmq/tls/server.key", "rabbitmq", "rabbitmq", 0o600),
        ("/etc/orgo-tls/ca.crt", "root", "root", 0o644),
        (f"{PG_CONFIG}/pg_hba.conf", "postgres", "postgres", 0o640),
        ("/etc/default/prometheus-postgres-exporter", "root", "prometheus", 0o640),
        ("/etc/default/prometheus-redis-exporter", "root", "prometheus", 0o640),
        ("/etc/default/prometheus-blackbox-exporter", "root", "prometheus", 0o640),
        ("/etc/prometheus/blackbox-orgo.yml", "root", "prometheus", 0o640),
        ("/etc/nftables.conf", "root", "root", 0o600),
        ("/var/backups/orgo", "postgres", "postgres", 0o700),
        ("/var/lib/orgo-backup", "postgres", "postgres", 0o755),
        ("/var/lib/prometheus/node-exporter", "root", "root", 0o755),
        ("/var/lib/orgo", "orgo", "orgo", 0o750),
    ],
)
def test_config_file_modes(
    host: testinfra.host.Host, path: str, owner: str, group: str, mode: int
) -> None:
    file = host.file(path)
    assert file.exists
    assert (file.user, file.group, file.mode) == (owner, group, mode)


def test_secrets_on_the_control_machine_are_private(platform: Platform) -> None:
    assert platform.secrets.stat().st_mode & 0o777 == 0o700
    assert {p.stat().st_mode & 0o777 for p in platform.secrets.iterdir()} == {0o600}


def test_no_secret_in_the_converge_output(platform: Platform) -> None:
    for secret in platform.secrets.iterdir():
        assert secret.read_text().strip() not in platform.first_run.output, secret.name


def test_app_user_and_sandboxed_units(host: testinfra.host.Host) -> None:
    user = host.user("orgo")
    assert user.shell == "/usr/sbin/nologin"
    assert user.uid < 1000
    for unit in ("orgo-api", "orgo-worker"):
        shown = host.check_output(
            f"systemctl show -p User -p NoNewPrivileges -p ProtectSystem -p Restart {unit}"
        )
        assert set(shown.splitlines()) == {
            "User=orgo",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "Restart=on-failure",
        }


def test_hardening(host: testinfra.host.Host) -> None:
    sshd = host.check_output("sshd -T")
    assert "passwordauthentication no" in sshd
    assert "permitrootlogin without-password" in sshd
    ruleset = host.check_output("nft list ruleset")
    assert "hook input priority filter; policy drop;" in ruleset
    assert "tcp dport { 22, 443, 9090, 9093 } accept" in ruleset
    assert host.file("/etc/sysctl.d/60-orgo.conf").contains("net.ipv4.tcp_syncookies = 1")
    assert host.file("/etc/apt/apt.conf.d/20auto-upgrades").contains('Unattended-Upgrade "1"')
    assert host.package("unattended-upgrades").is_installed


def test_data_services_are_locked_down(host: testinfra.host.Host) -> None:
    users = host.check_output("rabbitmqctl -n rabbit@localhost -q list_users")
    assert "guest" not in users
    assert "orgo" in users
    permissions = host.check_output("rabbitmqctl -n rabbit@localhost -q list_permissions -p orgo")
    assert "orgo\t^orgo\\..*\t^(orgo\\..*|amq\\.default)$\t^orgo\\..*" in permissions
    socket = f"{CACHE['redis_run_dir']}/{CACHE_SERVICE}.sock"
    assert "NOAUTH" in host.run(f"{CACHE['redis_cli']} -s {socket} ping").stdout
    extensions = host.check_output(
        "runuser -u postgres -- psql -d orgo -tAc 'select extname from pg_extension'"
    )
    assert "pgcrypto" in extensions
    assert host.check_output("runuser -u postgres -- psql -tAc 'show ssl'") == "on"


def test_loopback_services_speak_verified_tls_too(host: testinfra.host.Host) -> None:
    """One host, the same TLS as on the network: each data service's certificate verifies
    against the platform's CA for 127.0.0.1, and nothing answers in plaintext."""
    for port, starttls in ((5432, "-starttls postgres"), (6379, ""), (5671, "")):
        verified = host.run(
            f"openssl s_client -connect 127.0.0.1:{port} {starttls} -CAfile /etc/orgo-tls/ca.crt"
            " -verify_return_error -verify_ip 127.0.0.1 </dev/null"
        )
        assert verified.rc == 0 and "Verify return code: 0 (ok)" in verified.stdout, (
            port,
            verified.stdout[-500:],
            verified.stderr[-500:],
        )
    assert host.run(f"{CACHE['redis_cli']} -h 127.0.0.1 -p 6379 ping").stdout.strip() != "PONG"
    assert not host.socket("tcp://127.0.0.1:5672").is_listening


def test_tls_13_only(platform: Platform) -> None:
    def handshake(version: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["openssl", "s_client", f"-{version}", "-connect", f"127.0.0.1:{platform.https_port}"],
            input="",
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    tls13 = handshake("tls1_3")
    assert tls13.returncode == 0, tls13.stderr
    assert "Protocol  : TLSv1.3" in tls13.stdout or "TLSv1.3" in tls13.stdout
    tls12 = handshake("tls1_2")
    assert tls12.returncode != 0
    assert "alert protocol version" in tls12.stderr


def test_login_create_task_and_see_the_workers_effect(platform: Platform, ca_file: Path) -> None:
    with api(platform, ca_file) as client:
        task_reaches_the_worker(client, admin_headers(platform.secrets, client))
        assert client.get("/metrics").status_code == 404


def test_prometheus_scrapes_every_job_and_evaluates_every_rule(platform: Platform) -> None:
    every_target_up(platform.prometheus_port, platform.host.name, dict.fromkeys(SCRAPE_JOBS, 1))

    groups = prometheus_data(platform.prometheus_port, "/api/v1/rules")["groups"]
    sources = sorted((REPO / "observability" / "prometheus" / "rules").glob("*.yml"))
    expected = sum(len(yaml.safe_load(path.read_text())["groups"]) for path in sources)
    assert len(groups) == expected
    broken = [r["name"] for g in groups for r in g["rules"] if r.get("health") == "err"]
    assert broken == []
    failures = prometheus_data(
        platform.prometheus_port,
        "/api/v1/query",
        query="sum(prometheus_rule_evaluation_failures_total)",
    )["result"]
    assert failures == [] or failures[0]["value"][1] == "0"


def test_blackbox_probe_reads_nginx_certificate_with_the_rules_labels(
    platform: Platform,
) -> None:
    """The series TlsEndpointCertificateExpiringSoon reads: nginx's certificate expiry,
    labelled with the deployment's env and the probed endpoint as instance."""
    not_after = platform.host.exec("openssl x509 -noout -enddate -in /etc/nginx/tls/orgo.crt")
    expected = platform.host.exec(f"date -d '{not_after.split('=', 1)[1].strip()}' +%s").strip()
    query = 'probe_ssl_earliest_cert_expiry{job="blackbox"}'
    result = wait_until(
        lambda: prometheus_data(platform.prometheus_port, "/api/v1/query", query=query)["result"],
        60,
        "the blackbox probe of nginx",
        2,
    )
    assert [(r["metric"]["env"], r["metric"]["instance"]) for r in result] == [
        (platform.host.name, "127.0.0.1:443")
    ]
    assert float(result[0]["value"][1]) == float(expected)
    success = prometheus_data(
        platform.prometheus_port, "/api/v1/query", query='probe_success{job="blackbox"}'
    )["result"]
    assert [r["value"][1] for r in success] == ["1"]


def test_settings_change_restarts_only_the_affected_service(platform: Platform) -> None:
    before = started_at(platform)
    settings = platform.inventory / "group_vars" / "all" / "data.yml"
    data = yaml.safe_load(settings.read_text())
    data["redis_maxmemory"] = "96mb"
    settings.write_text(yaml.safe_dump(data))

    run = platform.converge()

    after = started_at(platform)
    restarted = sorted(s for s in SERVICES if before[s] != after[s])
    assert restarted == [CACHE_SERVICE], run.changed_tasks
    maxmemory = platform.host.exec(f"grep ^maxmemory {CACHE['redis_config_file']}")
    assert maxmemory.startswith("maxmemory 96mb")


def test_a_backup_records_its_success_for_node_exporter_and_prometheus(
    platform: Platform, host: testinfra.host.Host
) -> None:
    """The backup unit writes its outcome where node exporter's textfile collector reads it
    (a link from root's textfile directory to postgres's file), Prometheus scrapes it with
    the deployment's labels, and the failure time stays 0."""
    # The unit's sandbox must let the backup write its outcome: the hosts enforce it (see
    # tests/playbooks/hosts.py), and the configured paths are checked here as well.
    sandbox = host.check_output("systemctl show -p ProtectSystem -p ReadWritePaths orgo-backup")
    assert set(sandbox.splitlines()) == {
        "ProtectSystem=strict",
        "ReadWritePaths=/var/backups/orgo /var/lib/orgo-backup",
    }
    link = host.file("/var/lib/prometheus/node-exporter/orgo_backup.prom")
    assert link.is_symlink
    assert link.linked_to == "/var/lib/orgo-backup/orgo_backup.prom"
    assert (
        "--collector.textfile.directory=/var/lib/prometheus/node-exporter"
        in host.file("/etc/default/prometheus-node-exporter").content_string
    )
    before = host_time(platform.host)

    playbook("backup.yml", platform.inventory, {})

    outcome = backup_outcome(platform.host, "127.0.0.1")
    assert outcome[BACKUP_SUCCESS] >= before, outcome
    assert outcome[BACKUP_FAILURE] == 0, outcome
    written = host.file("/var/lib/orgo-backup/orgo_backup.prom")
    assert (written.user, written.group, written.mode) == ("postgres", "postgres", 0o644)
    assert host.file("/var/lib/orgo-backup").listdir() == ["orgo_backup.prom"]  # no temp file
    query = f'{BACKUP_SUCCESS}{{job="node",env="{platform.host.name}"}} >= {before:.0f}'
    wait_until(
        lambda: prometheus_data(platform.prometheus_port, "/api/v1/query", query=query)["result"],
        60,
        "Prometheus scraping the backup's success time",
        2,
    )


def test_backup_drop_restore_brings_every_row_back(platform: Platform, ca_file: Path) -> None:
    def activity() -> int:
        return int(psql(platform.host, "select count(*) from task_activity"))

    # Counted from what is there already, so the test does not depend on the tests before it.
    expected = activity() + 3
    with api(platform, ca_file) as client:
        headers = admin_headers(platform.secrets, client)
        for title in ("one", "two", "three"):
            client.post("/api/v1/tasks", json={"title": title}, headers=headers).raise_for_status()
    wait_until(lambda: activity() >= expected, 120, "the worker's three activity entries", 2)
    before = database_fingerprint(platform.host)
    playbook("backup.yml", platform.inventory, {})
    platform.host.exec("runuser -u postgres -- dropdb --force orgo")
    assert "orgo" not in platform.host.exec(
        "runuser -u postgres -- psql -tAc 'select datname from pg_database'"
    )

    playbook("restore.yml", platform.inventory, {})

    assert database_fingerprint(platform.host) == before
    with api(platform, ca_file) as client:
        wait_ready(client)


def test_everything_comes_back_after_a_host_restart(platform: Platform, ca_file: Path) -> None:
    """The container stops as make up's does (its own stop timeout): systemd stops every
    service, PostgreSQL shuts down cleanly and starts without crash recovery."""
    log = f"/var/log/postgresql/postgresql-{POSTGRESQL}-main.log"
    offset = int(platform.host.exec(f"stat -c %s {log}"))
    podman("restart", platform.host.name)
    platform.host.wait_running(timeout=180)
    written = platform.host.exec(f"tail -c +{offset + 1} {log}")
    assert "database system is shut down" in written, written
    assert "not properly shut down" not in written and "automatic recovery" not in written
    with api(platform, ca_file) as client:
        wait_ready(client, timeout=180)
        headers = admin_headers(platform.secrets, client)
        listed = client.get("/api/v1/tasks", headers=headers)
        assert listed.status_code == 200
    for service in SERVICES:
        state = platform.host.exec(f"systemctl is-active {service} || true").strip()
        assert state == "active", f"{service} is {state} after the restart"
