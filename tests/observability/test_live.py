"""Observability proven against live data: the real API and worker on PostgreSQL, Redis and
RabbitMQ, scraped with their exporters by Prometheus running the generated rules, alerts
going to Alertmanager with the generated routes. Scripted traffic, including client errors
and a database outage, then:

- every dashboard query and rule expression parses and returns data, or is marked as
  legitimately empty and every metric it reads exists;
- no rule evaluation fails;
- `promtool check metrics` accepts the API's and the worker's /metrics;
- the ECS log lines carry every field the index template maps, with the mapped type;
- a probed TLS endpoint with a certificate close to expiry raises its alert;
- the hosts' backup script (run for real) writes metrics promtool accepts, node exporter
  serves them, and a failed run raises PostgresBackupFailed and keeps the last success;
- stopping the worker gets OrgoWorkerDown to Alertmanager within `for` plus one
  evaluation interval (plus the scrape that notices), and it inhibits TargetDown.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from observability import rules
from observability.config import BACKUP_FAILURE, BACKUP_SUCCESS, DEFAULT
from observability.logs.fields import FIELDS
from observability.logs.kibana import saved_objects, used_fields
from observability.queries import Query, all_queries
from tests.harness.orgo import samples_named
from tests.harness.processes import wait_until
from tests.observability.conftest import tool
from tests.observability.live_stack import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    CERTIFICATE_DAYS,
    ENVIRONMENT,
    LIVE_CONFIG,
    SCRAPE_INTERVAL_SECONDS,
    LiveStack,
    live_stack,
)
from tests.observability.traffic import drive

# Setup boots eleven processes; on a loaded 2-core machine that alone can take minutes.
pytestmark = pytest.mark.timeout(480)

# Rate window for dashboard queries: a few scrapes of this short-lived Prometheus.
RATE_INTERVAL = "1m"
# Time for the first scrapes after the traffic and for rules to catch up.
SETTLE_SECONDS = 30
# Prometheus -> Alertmanager delivery and process scheduling on a busy CI machine.
DELIVERY_SLACK_SECONDS = 5


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[LiveStack, int]]:
    with live_stack() as live:
        failures = drive(live.api.url, ADMIN_EMAIL, ADMIN_PASSWORD, live.postgres)
        yield live, failures


def _problems(live: LiveStack, queries: list[Query]) -> list[str]:
    names = live.metric_names()
    problems = []
    for query in queries:
        if live.query(query.promql(RATE_INTERVAL)):
            continue
        missing = query.metric_names() - names
        if not query.may_be_empty:
            problems.append(f"{query.source}: no data for {query.promql(RATE_INTERVAL)}")
        elif missing:
            problems.append(f"{query.source}: metrics never scraped: {sorted(missing)}")
    return problems


def test_every_query_parses_and_returns_data(stack: tuple[LiveStack, int]) -> None:
    live, failures = stack
    assert failures > 0, "the database outage should have failed some requests"
    queries = [q for q in all_queries(DEFAULT) if "hosts" in q.targets]
    for query in set(all_queries(DEFAULT)) - set(queries):
        print(f"not checked here (targets {query.targets}, not hosts): {query.source}")
    deadline = time.monotonic() + SETTLE_SECONDS
    while problems := _problems(live, queries):
        if time.monotonic() > deadline:
            pytest.fail("queries without data:\n" + "\n".join(problems))
        time.sleep(2)
    empty = [q.source for q in queries if not live.query(q.promql(RATE_INTERVAL))]
    print(
        f"{len(queries)} queries answered by the live Prometheus; legitimately empty now "
        f"(their metrics exist): {empty}"
    )


def test_no_rule_evaluation_fails(stack: tuple[LiveStack, int]) -> None:
    live, _ = stack
    response = httpx.get(f"{live.prometheus.url}/api/v1/rules", timeout=10).json()
    loaded = {rule["name"]: rule for group in response["data"]["groups"] for rule in group["rules"]}
    expected = {
        getattr(rule, "name", None) or getattr(rule, "record", "")
        for group in rules.groups(LIVE_CONFIG)
        for rule in group.rules
    }
    assert set(loaded) == expected
    unhealthy = {
        name: rule.get("lastError") for name, rule in loaded.items() if rule["health"] != "ok"
    }
    assert not unhealthy, unhealthy
    failed = live.query("sum(prometheus_rule_evaluation_failures_total)")
    assert float(failed[0]["value"][1]) == 0


@pytest.mark.parametrize("service", ["api", "worker"])
def test_promtool_accepts_the_live_metrics(stack: tuple[LiveStack, int], service: str) -> None:
    live, _ = stack
    process = live.api if service == "api" else live.worker
    exposition = httpx.get(f"{process.url}/metrics", timeout=10).text
    assert "orgo_build_info" in exposition
    result = subprocess.run(
        [tool("promtool"), "check", "metrics"], input=exposition, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _flatten(line: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in line.items():
        if isinstance(value, dict):
            flat |= _flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _has_type(value: Any, es_type: str) -> bool:
    if es_type == "long":
        return isinstance(value, int) and not isinstance(value, bool)
    if not isinstance(value, str):
        return False
    try:
        if es_type == "date":
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        elif es_type == "ip":
            ipaddress.ip_address(value)
    except ValueError:
        return False
    return True  # keyword, match_only_text, wildcard: any string


def _log_lines(*paths: Path) -> list[dict[str, Any]]:
    lines = []
    for path in paths:
        for raw in path.read_text().splitlines():
            if raw.startswith("{"):
                lines.append(_flatten(json.loads(raw)))
    return lines


def test_ecs_log_lines_carry_every_mapped_field_with_its_type(
    stack: tuple[LiveStack, int],
) -> None:
    live, _ = stack
    lines = _log_lines(live.api.log_path, live.worker.log_path)
    assert lines, "the app wrote no ECS JSON lines"
    missing = [field for field in FIELDS if not any(field in line for line in lines)]
    assert not missing, f"mapped fields no log line carries: {missing}"
    wrong = {
        field: line[field]
        for line in lines
        for field, es_type in FIELDS.items()
        if line.get(field) is not None and not _has_type(line[field], es_type)
    }
    assert not wrong, f"values that do not fit their mapped type: {wrong}"
    assert used_fields(saved_objects()) <= set(FIELDS)
    # What the Kibana error search and error chart look for really occurs.
    assert any(line["log.level"] == "error" and "error.type" in line for line in lines)
    assert any(
        line.get("event.dataset") == "orgo.access" and line["http.response.status_code"] >= 500
        for line in lines
    )


def _alerts(live: LiveStack, name: str) -> list[dict[str, Any]]:
    return [a for a in live.alerts_in_alertmanager() if a["labels"]["alertname"] == name]


def test_a_probed_certificate_close_to_expiry_alerts(stack: tuple[LiveStack, int]) -> None:
    live, _ = stack
    wait_until(
        lambda: bool(_alerts(live, "TlsEndpointCertificateExpiringSoon")),
        30,
        f"TlsEndpointCertificateExpiringSoon for a {CERTIFICATE_DAYS}-day certificate",
    )
    (alert,) = _alerts(live, "TlsEndpointCertificateExpiringSoon")
    assert alert["labels"]["instance"] == live.tls_endpoint
    assert alert["labels"]["job"] == LIVE_CONFIG.jobs.blackbox
    assert [r["name"] for r in alert["receivers"]] == ["warning"]


def _outcome(live: LiveStack) -> dict[str, float]:
    """The series in the backup's outcome file, by name."""
    return samples_named(live.backup.outcome.read_text(), "")


def test_the_backup_outcome_is_valid_and_scraped_from_node_exporter(
    stack: tuple[LiveStack, int],
) -> None:
    live, _ = stack
    result = subprocess.run(
        [tool("promtool"), "check", "metrics"],
        input=live.backup.outcome.read_text(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    outcome = _outcome(live)
    assert set(outcome) == {BACKUP_SUCCESS, BACKUP_FAILURE}
    assert outcome[BACKUP_SUCCESS] > 0 and outcome[BACKUP_FAILURE] == 0
    assert len(list(live.backup.dumps.glob("orgo-*.dump"))) == 1
    assert list(live.backup.metrics_dir.iterdir()) == [live.backup.outcome]  # no temp file
    assert live.backup.outcome.stat().st_mode & 0o777 == 0o644
    scraped = live.query(f'{BACKUP_SUCCESS}{{job="{LIVE_CONFIG.jobs.node}"}}')
    assert [float(r["value"][1]) for r in scraped] == [outcome[BACKUP_SUCCESS]]
    assert scraped[0]["metric"][LIVE_CONFIG.environment_label] == ENVIRONMENT


def test_a_failed_backup_keeps_the_last_success_and_alerts(stack: tuple[LiveStack, int]) -> None:
    """The dump directory made unwritable: pg_dump fails, the run fails, the failure time
    moves and the success time stays; PostgresBackupFailed reaches Alertmanager."""
    live, _ = stack
    assert not _alerts(live, "PostgresBackupFailed"), "the backup alerted before failing"
    earlier = _outcome(live)
    started = time.time()
    live.backup.dumps.chmod(0o500)
    try:
        failed = live.backup.run()
    finally:
        live.backup.dumps.chmod(0o700)
    assert failed.returncode != 0, failed.stdout + failed.stderr
    assert "pg_dump" in failed.stderr
    outcome = _outcome(live)
    assert outcome[BACKUP_SUCCESS] == earlier[BACKUP_SUCCESS]
    assert outcome[BACKUP_FAILURE] >= int(started)
    wait_until(lambda: bool(_alerts(live, "PostgresBackupFailed")), 60, "PostgresBackupFailed")
    (alert,) = _alerts(live, "PostgresBackupFailed")
    labels = dict(alert["labels"])
    assert labels.pop("instance").startswith("127.0.0.1:")  # node exporter's address
    assert labels == {
        "alertname": "PostgresBackupFailed",
        "severity": "warning",
        LIVE_CONFIG.environment_label: ENVIRONMENT,
        "job": LIVE_CONFIG.jobs.node,
    }
    assert alert["annotations"]["runbook_url"].endswith("/docs/runbooks/postgres-backup-failed.md")
    assert [r["name"] for r in alert["receivers"]] == ["warning"]


def _seconds(duration: str) -> float:
    return float(duration.rstrip("s"))


def test_stopping_the_worker_pages_through_alertmanager(stack: tuple[LiveStack, int]) -> None:
    live, _ = stack
    timing = LIVE_CONFIG.timing
    budget = (
        _seconds(timing.down_for)
        + _seconds(timing.evaluation_interval)
        + SCRAPE_INTERVAL_SECONDS
        + DELIVERY_SLACK_SECONDS
    )
    assert not _alerts(live, "OrgoWorkerDown"), "the worker was down before the drill"
    stopped = time.monotonic()  # includes the worker's graceful shutdown: a strict bound
    live.worker.stop()
    wait_until(lambda: bool(_alerts(live, "OrgoWorkerDown")), budget + 30, "OrgoWorkerDown")
    elapsed = time.monotonic() - stopped
    print(
        f"OrgoWorkerDown reached Alertmanager {elapsed:.1f}s after the worker stopped "
        f"(for {timing.down_for}, evaluation every {timing.evaluation_interval})"
    )
    assert elapsed <= budget
    (alert,) = _alerts(live, "OrgoWorkerDown")
    assert alert["labels"] == {
        "alertname": "OrgoWorkerDown",
        "severity": "critical",
        LIVE_CONFIG.environment_label: ENVIRONMENT,
        "job": LIVE_CONFIG.jobs.worker,
    }
    assert alert["annotations"]["runbook_url"].endswith("/docs/runbooks/orgo-worker-down.md")
    assert [r["name"] for r in alert["receivers"]] == ["critical"]
    # The generic scrape alert for the same job is inhibited by the specific one.
    wait_until(
        lambda: any(
            a["labels"].get("job") == LIVE_CONFIG.jobs.worker for a in _alerts(live, "TargetDown")
        ),
        30,
        "TargetDown for the worker",
    )
    (target_down,) = [
        a for a in _alerts(live, "TargetDown") if a["labels"]["job"] == LIVE_CONFIG.jobs.worker
    ]
    assert target_down["status"]["state"] == "suppressed"
    assert target_down["status"]["inhibitedBy"]
