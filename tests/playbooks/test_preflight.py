"""Bad inventory variables stop site.yml before anything changes, naming the variable.

Only the preflight play runs (--tags preflight), against local-connection hosts that
nothing is ever applied to; a host on a release the roles do not support is a container
of the host image whose /etc/os-release names that release.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.playbooks.hosts import IMAGE, playbook, podman

GROUPS = ["orgo_db", "orgo_mq", "orgo_cache", "orgo_app", "orgo_monitoring"]


def inventory(tmp_path: Path, groups: list[str], **variables: object) -> Path:
    content = {
        "all": {
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": "/usr/bin/python3",
                "orgo_listen_address": "10.0.0.5",
                "orgo_secrets_dir": str(tmp_path / "secrets"),
                **variables,
            },
            "children": {group: {"hosts": {"host-a": None}} for group in groups},
        }
    }
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(content))
    return path


def preflight(path: Path, check: bool = False) -> str:
    run = playbook("site.yml", path, {}, "--tags", "preflight", check=check)
    if not check:
        assert run.returncode != 0, f"preflight accepted a bad inventory:\n{run.output}"
    return run.output


def test_a_valid_inventory_passes_and_generates_private_secrets(tmp_path: Path) -> None:
    preflight(inventory(tmp_path, GROUPS), check=True)
    secrets = tmp_path / "secrets"
    assert oct(secrets.stat().st_mode & 0o777) == "0o700"
    files = sorted(p.name for p in secrets.iterdir())
    assert files == [
        "admin-password",
        "jwt-secret",
        "postgres-exporter-password",
        "postgresql-password",
        "rabbitmq-password",
        "redis-password",
    ]
    assert {oct(p.stat().st_mode & 0o777) for p in secrets.iterdir()} == {"0o600"}


def test_unknown_group_is_named(tmp_path: Path) -> None:
    output = preflight(inventory(tmp_path, [*GROUPS, "orgo_databse"]))
    assert "unknown inventory group(s) orgo_databse" in output
    assert "allowed: orgo_db, orgo_mq" in output


def test_empty_group_is_named(tmp_path: Path) -> None:
    output = preflight(inventory(tmp_path, [g for g in GROUPS if g != "orgo_cache"]))
    assert "inventory group orgo_cache has no host" in output


@pytest.mark.parametrize("value", [70000, 0, "http"])
def test_port_out_of_range_is_named(tmp_path: Path, value: object) -> None:
    output = preflight(inventory(tmp_path, GROUPS, orgo_redis_port=value))
    assert f"orgo_redis_port={value} is not a port: allowed 1-65535" in output


@pytest.mark.parametrize("group", ["orgo_db", "orgo_cache"])
def test_a_second_host_in_a_data_group_is_named(tmp_path: Path, group: str) -> None:
    path = inventory(tmp_path, GROUPS)
    content = yaml.safe_load(path.read_text())
    content["all"]["children"][group]["hosts"]["host-b"] = None
    path.write_text(yaml.safe_dump(content))
    output = preflight(path)
    assert f"inventory group {group} has 2 hosts (host-a, host-b)" in output
    assert "allowed: exactly one in each of orgo_db, orgo_mq, orgo_cache" in output


def test_missing_listen_address_is_named(tmp_path: Path) -> None:
    output = preflight(inventory(tmp_path, GROUPS, orgo_listen_address="db.internal"))
    assert "orgo_listen_address must be set to an IP address for host host-a" in output


def test_missing_password_in_a_non_local_inventory_is_named(tmp_path: Path) -> None:
    passwords = {
        "orgo_postgresql_password": "p" * 32,
        "orgo_postgres_exporter_password": "e" * 32,
        "orgo_rabbitmq_password": "r" * 32,
        "orgo_jwt_secret": "j" * 64,
        "orgo_admin_password": "a" * 24,
    }
    output = preflight(inventory(tmp_path, GROUPS, orgo_secrets_mode="inventory", **passwords))
    assert "orgo_redis_password is required when orgo_secrets_mode=inventory" in output
    assert "p" * 32 not in output
    assert not (tmp_path / "secrets").exists()


def test_unknown_secrets_mode_is_named(tmp_path: Path) -> None:
    output = preflight(inventory(tmp_path, GROUPS, orgo_secrets_mode="vault"))
    assert "orgo_secrets_mode=vault: allowed generate, inventory" in output


# The S3 target of the backup role (site.yml validates it on the orgo_db hosts).
KEY_ID = "AKIAEXAMPLEKEYID0001"
SECRET = "s3cr3t-example-value-never-printed"
S3: dict[str, object] = {
    "backup_s3_enabled": True,
    "backup_s3_endpoint": "https://s3.eu-central-1.amazonaws.com",
    "backup_s3_bucket": "orgo-backups",
    "backup_s3_access_key_id": KEY_ID,
    "backup_s3_secret_access_key": SECRET,
}


def s3_settings(**changes: object) -> dict[str, object]:
    settings = {**S3, **changes}
    return {key: value for key, value in settings.items() if value is not None}


def test_s3_backups_with_credentials_in_the_secrets_directory_pass(tmp_path: Path) -> None:
    """Credentials may come from files in orgo_secrets_dir instead of the inventory."""
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    for name, value in (
        ("access-key-id", "AKIDFROMFILE"),
        ("secret-access-key", "secret-from-file"),
    ):
        (secrets / f"backup-s3-{name}").write_text(value + "\n")
    settings = s3_settings(backup_s3_access_key_id=None, backup_s3_secret_access_key=None)
    output = preflight(inventory(tmp_path, GROUPS, **settings), check=True)
    assert "secret-from-file" not in output


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"backup_s3_endpoint": None},
            "backup_s3_endpoint= is not an https:// URL of the S3 API",
        ),
        (
            {"backup_s3_endpoint": "s3.example.com"},
            "backup_s3_endpoint=s3.example.com is not an https:// URL of the S3 API",
        ),
        (
            {"backup_s3_endpoint": "ftp://s3.example.com"},
            "backup_s3_endpoint=ftp://s3.example.com is not an https:// URL of the S3 API",
        ),
        (
            {"backup_s3_endpoint": "http://10.0.0.5:9000"},
            "backup_s3_endpoint=http://10.0.0.5:9000 is not an https:// URL of the S3 API",
        ),
        (
            {"backup_s3_ca_certificate": "not a certificate"},
            "backup_s3_ca_certificate: allowed empty (the host's trust store) or a PEM certificate",
        ),
        (
            {"backup_encryption_recipient": "age1tooshort"},
            "backup_encryption_recipient=age1tooshort: allowed an age recipient",
        ),
        (
            {"backup_s3_endpoint": "https://AKID:hunter2hunter2@s3.example.com"},
            "backup_s3_endpoint=(not shown: it carries credentials) is not an https:// URL",
        ),
        ({"backup_s3_bucket": None}, "backup_s3_bucket= is not a bucket name"),
        (
            {"backup_s3_bucket": "Orgo_Backups"},
            "backup_s3_bucket=Orgo_Backups is not a bucket name",
        ),
        ({"backup_s3_prefix": "/orgo/"}, "backup_s3_prefix=/orgo/: allowed"),
        ({"backup_s3_prefix": "orgo/../etc"}, "backup_s3_prefix=orgo/../etc: allowed"),
        ({"backup_s3_region": "eu central"}, "backup_s3_region=eu central: allowed"),
        ({"backup_s3_provider": "GCS"}, "backup_s3_provider=GCS: allowed AWS, Minio, Ceph, Other"),
        ({"backup_s3_enabled": "maybe"}, "backup_s3_enabled=maybe: allowed true, false"),
        ({"backup_retention_days": 0}, "backup_retention_days=0: allowed a whole number of days"),
        ({"backup_retention_days": "week"}, "backup_retention_days=week: allowed a whole number"),
    ],
)
def test_bad_s3_backup_setting_is_named(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    output = preflight(inventory(tmp_path, GROUPS, **s3_settings(**changes)))
    assert message in " ".join(output.split())
    assert "hunter2" not in output
    assert SECRET not in output


def test_missing_s3_credentials_are_named_without_showing_the_other(tmp_path: Path) -> None:
    output = preflight(inventory(tmp_path, GROUPS, **s3_settings(backup_s3_secret_access_key=None)))
    assert "backup_s3_secret_access_key missing or containing whitespace" in output
    assert f"{tmp_path}/secrets/backup-s3-secret-access-key (mode 0600)" in output
    assert "backup_s3_access_key_id missing" not in output
    assert KEY_ID not in output


def test_a_secret_with_whitespace_is_named_but_not_shown(tmp_path: Path) -> None:
    secret = "two words-that-break-the-config"
    output = preflight(
        inventory(tmp_path, GROUPS, **s3_settings(backup_s3_secret_access_key=secret))
    )
    assert "backup_s3_secret_access_key missing or containing whitespace" in output
    assert "words-that-break" not in output


def test_s3_settings_are_not_checked_while_s3_is_off(tmp_path: Path) -> None:
    preflight(
        inventory(tmp_path, GROUPS, backup_s3_enabled=False, backup_s3_endpoint="nonsense"),
        check=True,
    )


def test_restore_names_an_unknown_source_before_stopping_anything(tmp_path: Path) -> None:
    for source, extra in (("tape", {}), ("s3", {"backup_s3_enabled": False})):
        path = inventory(tmp_path, GROUPS, **extra)
        run = playbook("restore.yml", path, {"backup_source": source}, check=False)
        assert run.returncode != 0
        assert f"backup_source={source}: allowed local" in run.output
        assert "Restore | stop API and worker" not in run.output


def test_a_jwt_secret_shorter_than_the_app_requires_is_named(tmp_path: Path) -> None:
    """The app refuses JWT secrets under 32 characters outside dev: so does preflight."""
    output = preflight(inventory(tmp_path, GROUPS, orgo_jwt_secret="j" * 31))
    assert "orgo_jwt_secret is missing or shorter than 32 characters" in output
    assert "j" * 31 not in output


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            {"orgo_api_trusted_proxies": ["*"]},
            "orgo_api_trusted_proxies=['*']: allowed a non-empty list of IP addresses or CIDRs",
        ),
        (
            {"orgo_api_trusted_proxies": ["10.0.0.0/8", "nginx.internal"]},
            "orgo_api_trusted_proxies=['10.0.0.0/8', 'nginx.internal']: allowed",
        ),
        ({"orgo_api_trusted_proxies": "*"}, "orgo_api_trusted_proxies=*: allowed"),
        ({"orgo_api_docs_enabled": "sometimes"}, "orgo_api_docs_enabled=sometimes: allowed true"),
        ({"orgo_max_body_bytes": "1m"}, "orgo_max_body_bytes=1m: allowed a whole number of bytes"),
    ],
)
def test_a_bad_app_setting_is_named(
    tmp_path: Path, variables: dict[str, object], message: str
) -> None:
    output = preflight(inventory(tmp_path, GROUPS, **variables))
    assert message in " ".join(output.split())


def test_restore_from_the_bucket_needs_the_dumps_identity_before_stopping_anything(
    tmp_path: Path,
) -> None:
    """The bucket's dumps are encrypted: without the age identity (none generated in the
    secrets directory, none in the inventory) nothing could be restored from them."""
    path = inventory(tmp_path, GROUPS, **s3_settings())
    run = playbook("restore.yml", path, {"backup_source": "s3"}, check=False)
    assert run.returncode != 0
    output = " ".join(run.output.split())
    assert "backup_source=s3: allowed local" in output
    assert f"is read from {tmp_path}/secrets/backup-age-identity" in output
    assert "Restore | stop API and worker" not in run.output


@pytest.mark.parametrize(
    "variables",
    [
        {"orgo_tls_ca_certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"},
        {"orgo_tls_ca_certificate": "a file name", "orgo_tls_ca_private_key": "another"},
    ],
    ids=["certificate without its key", "not PEM"],
)
def test_an_inventory_ca_needs_its_certificate_and_key(
    tmp_path: Path, variables: dict[str, object]
) -> None:
    output = preflight(inventory(tmp_path, GROUPS, **variables))
    assert "orgo_tls_ca_certificate and orgo_tls_ca_private_key: allowed both empty" in (
        " ".join(output.split())
    )


# /etc/os-release and /etc/debian_version of releases the roles do not converge, written
# into a host of the test image: what Ansible's facts read to tell the release.
UNSUPPORTED_RELEASES = {
    "Debian 11 (bullseye)": (
        'ID=debian\nVERSION_ID="11"\nVERSION_CODENAME=bullseye\nNAME="Debian GNU/Linux"\n'
        'PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\n',
        "11.11\n",
    ),
    "Ubuntu 20.04 (focal)": (
        'ID=ubuntu\nID_LIKE=debian\nVERSION_ID="20.04"\nVERSION_CODENAME=focal\n'
        'UBUNTU_CODENAME=focal\nNAME="Ubuntu"\nPRETTY_NAME="Ubuntu 20.04.6 LTS"\n'
        'VERSION="20.04.6 LTS (Focal Fossa)"\n',
        "bullseye/sid\n",
    ),
}


@pytest.fixture(scope="module")
def plain_host(host_image: None) -> Iterator[str]:
    """A container of the host image without systemd: only the preflight reaches it."""
    name = "orgo-it-preflight"
    podman("rm", "-f", "-t", "0", name, check=False)
    podman("run", "-d", "--name", name, IMAGE, "sleep", "infinity")
    try:
        yield name
    finally:
        podman("rm", "-f", "-t", "0", name, check=False)


@pytest.mark.parametrize("release", sorted(UNSUPPORTED_RELEASES))
def test_a_host_on_an_unsupported_release_is_refused_before_any_change(
    tmp_path: Path, plain_host: str, release: str
) -> None:
    os_release, debian_version = UNSUPPORTED_RELEASES[release]
    for file, content in (("/etc/os-release", os_release), ("/etc/debian_version", debian_version)):
        podman("exec", plain_host, "bash", "-c", f"printf %s {shlex.quote(content)} >{file}")
    packages_before = podman("exec", plain_host, "dpkg-query", "-W").stdout
    path = inventory(tmp_path, GROUPS, ansible_connection="podman", ansible_host=plain_host)

    run = playbook("site.yml", path, {}, check=False)

    assert run.returncode != 0
    message = " ".join(run.output.split())
    assert (
        f"host host-a runs {release.split(' (')[0]}" in message
        and "which the roles do not support; supported: Debian 12 (bookworm), Debian 13 (trixie)"
        in message
    ), run.output[-3000:]
    assert f"({release.split('(')[1]}" in message
    assert run.changed_tasks == []
    assert podman("exec", plain_host, "dpkg-query", "-W").stdout == packages_before
