"""What the roles write, rendered from the roles' own templates.

The app's settings file (/etc/orgo/orgo.env) and nginx's site, for the contract the app
reads: forwarded headers trusted only from the nginx hosts, one body limit for both, docs
off unless asked for; passwords with URL and quoting characters reaching every URL and
file intact, read back by the parsers the app and the exporters use; and the firewall,
which lets only the monitoring hosts reach Alertmanager.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import redis.connection
import yaml
from sqlalchemy.engine import make_url
from yarl import URL

from tests.playbooks.hosts import PLAYBOOKS
from tests.playbooks.render import render

ENV = "orgo_api/orgo.env.j2"
NGINX = "nginx/orgo.conf.j2"
# The characters that break a URL's userinfo or a double-quoted systemd value.
AWKWARD = 'p@ss/w:rd#?"%$`\\ end'


def systemd_environment(text: str) -> dict[str, str]:
    """An EnvironmentFile read as systemd reads KEY="..." lines: inside double quotes a
    backslash escapes \\, ", ` and $, and is kept before any other character."""
    values = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, quoted = line.split("=", 1)
        assert quoted.startswith('"') and quoted.endswith('"'), line
        values[key] = re.sub(r'\\([\\"`$])', r"\1", quoted[1:-1])
    return values


def app_settings(directory: Path, **settings: object) -> dict[str, str]:
    [files] = render(directory, [ENV], settings).values()
    return systemd_environment(files["orgo.env"])


def test_awkward_passwords_reach_every_url_intact(tmp_path: Path) -> None:
    passwords = {
        name: f"{AWKWARD}-{name}"
        for name in (
            "orgo_postgresql_password",
            "orgo_postgres_exporter_password",
            "orgo_redis_password",
            "orgo_rabbitmq_password",
            "orgo_jwt_secret",
            "orgo_admin_password",
        )
    }
    exporter = exporter_settings("prometheus-postgres-exporter")
    files = render(
        tmp_path,
        [ENV, "exporters/exporter.default.j2", "redis/redis.conf.j2"],
        {"orgo_secrets_mode": "inventory", **passwords, "exporters_env": exporter},
    )["host-a"]
    env = systemd_environment(files["orgo.env"])
    database = make_url(env["ORGO_DATABASE_URL"])
    assert (database.username, database.password) == ("orgo", passwords["orgo_postgresql_password"])
    assert (database.host, database.database) == ("10.0.0.5", "orgo")
    cache = redis.connection.parse_url(env["ORGO_REDIS_URL"])
    assert (cache["password"], cache["host"]) == (passwords["orgo_redis_password"], "10.0.0.5")
    broker = URL(env["ORGO_AMQP_URL"])
    assert (broker.password, broker.host, broker.path) == (
        passwords["orgo_rabbitmq_password"],
        "10.0.0.5",
        "/orgo",
    )
    assert env["ORGO_JWT_SECRET"] == passwords["orgo_jwt_secret"]

    dsn = urlsplit(systemd_environment(files["exporter.default"])["DATA_SOURCE_NAME"])
    assert unquote(dsn.password or "") == passwords["orgo_postgres_exporter_password"]
    assert dsn.hostname == "10.0.0.5"

    [requirepass] = [line for line in files["redis.conf"].splitlines() if "requirepass" in line]
    expected = passwords["orgo_redis_password"].replace("\\", "\\\\").replace('"', '\\"')
    assert requirepass == f'requirepass "{expected}"'


def test_the_app_and_the_exporters_verify_every_service_against_the_platforms_ca(
    tmp_path: Path,
) -> None:
    exporters = {
        package: exporter_settings(package)
        for package in ("prometheus-postgres-exporter", "prometheus-redis-exporter")
    }
    rendered = {}
    for package, settings in exporters.items():
        files = render(
            tmp_path / package, [ENV, "exporters/exporter.default.j2"], {"exporters_env": settings}
        )
        rendered[package] = systemd_environment(files["host-a"]["exporter.default"])
        env = systemd_environment(files["host-a"]["orgo.env"])
    ca = "/etc/orgo-tls/ca.crt"
    assert make_url(env["ORGO_DATABASE_URL"]).query == {"ssl": "verify-full"}
    assert env["PGSSLROOTCERT"] == ca  # asyncpg's verify-full reads the CA from it
    cache = redis.connection.parse_url(env["ORGO_REDIS_URL"])
    assert env["ORGO_REDIS_URL"].startswith("rediss://") and cache["ssl_ca_certs"] == ca
    broker = URL(env["ORGO_AMQP_URL"])
    assert (broker.scheme, broker.port, broker.query.get("cafile")) == ("amqps", 5671, ca)
    dsn = urlsplit(rendered["prometheus-postgres-exporter"]["DATA_SOURCE_NAME"])
    assert dsn.query == f"sslmode=verify-full&sslrootcert={ca}"
    redis_exporter = rendered["prometheus-redis-exporter"]
    assert redis_exporter["REDIS_ADDR"] == "rediss://10.0.0.5:6379"
    assert f"-tls-ca-cert-file={ca}" in redis_exporter["ARGS"].split()


def exporter_settings(package: str) -> object:
    """The exporters_env the exporters role passes for PACKAGE (its task's vars)."""
    tasks = yaml.safe_load((PLAYBOOKS / "roles" / "exporters" / "tasks" / "main.yml").read_text())
    [task] = [t for t in tasks if t.get("vars", {}).get("exporters_package") == package]
    return task["vars"]["exporters_env"]


def test_the_app_believes_forwarded_headers_only_from_the_nginx_hosts(tmp_path: Path) -> None:
    """Every orgo_app host runs nginx, each balancing over every app host's API: each API
    trusts exactly those hosts' addresses, never '*'; nginx replaces X-Forwarded-For."""
    rendered = render(tmp_path, [ENV, NGINX], hosts=three_tiers())
    for app in ("app-1", "app-2"):
        env = systemd_environment(rendered[app]["orgo.env"])
        assert env["ORGO_FORWARDED_ALLOW_IPS"] == "10.0.2.10,10.0.2.11"
        site = rendered[app]["orgo.conf"]
        assert "proxy_set_header X-Forwarded-For $remote_addr;" in site
        assert "proxy_set_header X-Forwarded-Proto https;" in site
        assert "$proxy_add_x_forwarded_for" not in site
        assert "server 10.0.2.10:8000" in site and "server 10.0.2.11:8000" in site


def three_tiers() -> dict[str, dict[str, object]]:
    """A data host, two app hosts and a monitoring host, as inventories/example has them."""
    return {
        "db-1": {
            "orgo_listen_address": "10.0.1.10",
            "groups": ["orgo_db", "orgo_mq", "orgo_cache"],
        },
        "app-1": {"orgo_listen_address": "10.0.2.10", "groups": ["orgo_app"]},
        "app-2": {"orgo_listen_address": "10.0.2.11", "groups": ["orgo_app"]},
        "mon-1": {"orgo_listen_address": "10.0.3.10", "groups": ["orgo_monitoring"]},
    }


def test_only_the_monitoring_hosts_reach_alertmanager(tmp_path: Path) -> None:
    """Alertmanager has no authentication: any host that reaches it can silence alerts.
    The monitoring host opens its port to the monitoring hosts (their Prometheus) only;
    every other internal port stays open to the platform's hosts."""
    hosts = three_tiers()
    hosts["mon-2"] = {"orgo_listen_address": "10.0.3.11", "groups": ["orgo_monitoring"]}
    ruleset = render(tmp_path, ["common/nftables.conf.j2"], hosts=hosts)["mon-1"]["nftables.conf"]
    accepts = re.findall(r"ip saddr \{ ([^}]*) \} tcp dport (.*) accept", ruleset)
    platform = {"10.0.1.10", "10.0.2.10", "10.0.2.11", "10.0.3.10", "10.0.3.11"}
    assert [(set(sources.split(", ")), ports) for sources, ports in accepts] == [
        (platform, "{ 9100 }"),
        ({"10.0.3.10", "10.0.3.11"}, "9093"),
    ]


def test_a_single_host_trusts_its_own_loopback_nginx(tmp_path: Path) -> None:
    local = PLAYBOOKS / "inventories" / "local" / "group_vars" / "all" / "platform.yml"
    address = yaml.safe_load(local.read_text())["orgo_listen_address"]
    env = app_settings(tmp_path, orgo_listen_address=address)
    assert env["ORGO_FORWARDED_ALLOW_IPS"] == "127.0.0.1"


def test_one_setting_is_the_body_limit_of_nginx_and_of_the_app(tmp_path: Path) -> None:
    default = render(tmp_path / "default", [ENV, NGINX])["host-a"]
    assert "client_max_body_size 1048576;" in default["orgo.conf"]
    assert systemd_environment(default["orgo.env"])["ORGO_MAX_BODY_BYTES"] == "1048576"
    raised = render(tmp_path / "raised", [ENV, NGINX], {"orgo_max_body_bytes": 2097152})["host-a"]
    assert "client_max_body_size 2097152;" in raised["orgo.conf"]
    assert systemd_environment(raised["orgo.env"])["ORGO_MAX_BODY_BYTES"] == "2097152"


def test_docs_are_off_unless_the_inventory_turns_them_on(tmp_path: Path) -> None:
    assert app_settings(tmp_path / "default")["ORGO_DOCS_ENABLED"] == "false"
    local = PLAYBOOKS / "inventories" / "local" / "group_vars" / "all" / "app.yml"
    enabled = yaml.safe_load(local.read_text())["orgo_api_docs_enabled"]
    assert enabled is True  # make up shows /docs, as README.md says
    on = app_settings(tmp_path / "local", orgo_api_docs_enabled=enabled)
    assert on["ORGO_DOCS_ENABLED"] == "true"
