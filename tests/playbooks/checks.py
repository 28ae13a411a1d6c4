"""Checks of a converged platform from the outside, shared by the single- and three-host tests."""

from __future__ import annotations

import json
import shlex
import ssl
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from tests.harness.orgo import samples_named
from tests.harness.processes import wait_until
from tests.playbooks.hosts import Host

# Every scrape job Prometheus gets from the inventory.
SCRAPE_JOBS = {
    "prometheus",
    "alertmanager",
    "node",
    "postgres",
    "redis",
    "rabbitmq",
    "orgo-api",
    "orgo-worker",
    "blackbox",
}


def https_client(port: int, ca_file: Path) -> httpx.Client:
    """A client of nginx on a published loopback port that verifies its certificate."""
    return httpx.Client(
        base_url=f"https://localhost:{port}",
        verify=ssl.create_default_context(cafile=str(ca_file)),
        timeout=10,
    )


def admin_headers(secrets: Path, client: httpx.Client) -> dict[str, str]:
    """Logs in as the generated admin (password from the deployment's secrets directory)."""
    password = (secrets / "admin-password").read_text().strip()
    token = client.post(
        "/api/v1/auth/token", data={"username": "admin@example.com", "password": password}
    )
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def task_reaches_the_worker(client: httpx.Client, headers: dict[str, str]) -> None:
    """Creates a task and waits for the worker's activity entry (API -> DB -> broker -> worker)."""
    created = client.post("/api/v1/tasks", json={"title": "Check the backups"}, headers=headers)
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]

    def activity() -> list[str]:
        entries = client.get(f"/api/v1/tasks/{task_id}/activity", headers=headers)
        return [entry["event_type"] for entry in entries.json()]

    assert wait_until(activity, 60, "the worker's activity entry", 2) == ["task.created"]


def wait_ready(client: httpx.Client, timeout: float = 120) -> None:
    """Waits until the API (through nginx) answers /readyz with 200."""
    wait_until(lambda: client.get("/readyz").status_code == 200, timeout, "/readyz", 2)


def prometheus_data(port: int, path: str, **params: str) -> Any:
    response = httpx.get(f"http://127.0.0.1:{port}{path}", params=params)
    response.raise_for_status()
    return response.json()["data"]


def every_target_up(port: int, env: str, targets_per_job: dict[str, int]) -> None:
    """Waits until Prometheus scrapes every job of the deployment `env` with the given
    number of targets, all up. (Series without the label come from the package's default
    configuration, scraped before the role's replaced it, and linger until stale.)"""

    def all_up() -> bool:
        query = f'up{{env="{env}"}}'
        results = prometheus_data(port, "/api/v1/query", query=query)["result"]
        targets = Counter(r["metric"]["job"] for r in results)
        assert targets == Counter(targets_per_job), f"targets per job: {dict(targets)}"
        down = [r["metric"] for r in results if r["value"][1] != "1"]
        assert down == [], f"down: {down}"
        return True

    wait_until(all_up, 150, f"every target of {env} up", 5)


def psql(host: Host, sql: str) -> str:
    """One query against the app's database on HOST, as postgres; the unaligned result."""
    return host.exec(f"runuser -u postgres -- psql -d orgo -tAc {json.dumps(sql)}").strip()


def newest_dump(host: Host) -> str:
    """Path of the newest dump in HOST's backup directory."""
    return host.exec("ls -1t /var/backups/orgo/*.dump | head -n 1").strip()


def database_fingerprint(host: Host) -> dict[str, str]:
    """Row count and an md5 of every row of the app's tables: equal fingerprints before a
    backup and after a restore mean every row came back."""
    sql = "select count(*) || ':' || md5(string_agg(t::text, ',' order by t.id)) from {} t"
    tables = ("users", "tasks", "task_activity", "notifications")
    return {table: psql(host, sql.format(table)) for table in tables}


def host_time(host: Host) -> float:
    """HOST's clock, in Unix seconds (the clock orgo-backup stamps its outcome with)."""
    return float(host.exec("date +%s").strip())


def backup_outcome(host: Host, address: str) -> dict[str, float]:
    """The orgo_backup_* series node exporter on HOST serves, read from its /metrics on
    ADDRESS:9100 from inside the host (it listens on no other address)."""
    read = (
        "import urllib.request; print(urllib.request.urlopen("
        f"'http://{address}:9100/metrics', timeout=10).read().decode())"
    )
    exposition = host.exec(f"python3 -c {shlex.quote(read)}")
    assert "node_textfile_scrape_error 0" in exposition, "node exporter cannot read a textfile"
    return samples_named(exposition, "orgo_backup_")
