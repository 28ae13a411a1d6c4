"""A whole monitored Orgo on loopback: the app on PostgreSQL, Redis and RabbitMQ, their
exporters, node exporter, Prometheus with the generated rules (shortened timings) and
Alertmanager with the generated routes. Everything is a throwaway process."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from observability import alertmanager, blackbox
from observability.config import Config, Timing
from observability.generate import RULES_DIR, write
from tests.harness.orgo import OrgoProcess, orgo, orgo_env
from tests.harness.processes import (
    free_port,
    port_open,
    require_binary,
    run,
    stop_process,
    wait_until,
)
from tests.harness.services import PostgresServer, RabbitmqServer, RedisServer
from tests.observability.backup_script import BackupHost
from tests.observability.conftest import ALERTMANAGER_DIR

# Short enough that the worker-down drill takes seconds, long enough to mean "for".
LIVE_CONFIG = Config(
    timing=Timing(
        evaluation_interval="1s",
        burn_for="5s",
        down_for="5s",
        symptom_for="5s",
        saturation_for="5s",
        target_down_for="5s",
    )
)
SCRAPE_INTERVAL_SECONDS = 1
# Debian packages of the monitoring side, each providing a command of its own name;
# scripts/system-deps.sh (make system-deps, run by make test) installs them.
MONITORING_PACKAGES = (
    "prometheus",
    "prometheus-alertmanager",
    "prometheus-node-exporter",
    "prometheus-postgres-exporter",
    "prometheus-redis-exporter",
    "prometheus-blackbox-exporter",
)
# The TLS endpoint the blackbox exporter probes serves a certificate this close to expiry,
# so TlsEndpointCertificateExpiringSoon must fire.
CERTIFICATE_DAYS = 7
ENVIRONMENT = "live-test"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "observability-live-test"  # a throwaway user in a throwaway database


@dataclass
class Daemon:
    """A background server process with its output in a log file."""

    name: str
    args: list[str]
    port: int
    ready_path: str | None = "/metrics"  # None: ready once the port accepts connections
    env: dict[str, str] | None = None
    log: Path = field(init=False)
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self, workdir: Path) -> Daemon:
        self.log = workdir / f"{self.name}.log"
        with self.log.open("ab") as out:
            self._proc = subprocess.Popen(
                self.args, stdout=out, stderr=subprocess.STDOUT, env=self.env, cwd=workdir
            )
        wait_until(self._ready, 30, f"{self.name} on port {self.port}", 0.2)
        return self

    def _ready(self) -> bool:
        if self._proc is not None and self._proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
        if self.ready_path is None:
            return port_open(self.port)
        return httpx.get(f"{self.url}{self.ready_path}", timeout=1).status_code == 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._proc is not None:
            stop_process(self._proc)
            self._proc = None


@dataclass
class LiveStack:
    workdir: Path
    postgres: PostgresServer
    redis: RedisServer
    rabbitmq: RabbitmqServer
    api: OrgoProcess
    worker: OrgoProcess
    prometheus: Daemon
    alertmanager: Daemon
    tls_endpoint: str  # host:port the blackbox exporter probes
    backup: BackupHost  # orgo-backup, whose outcome node exporter serves

    def query(self, promql: str) -> list[dict[str, Any]]:
        """Instant query; raises with Prometheus' error when the expression is invalid."""
        response = httpx.post(
            f"{self.prometheus.url}/api/v1/query", data={"query": promql}, timeout=10
        )
        body = response.json()
        if body.get("status") != "success":
            raise AssertionError(f"{promql!r}: {body.get('error', body)}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def metric_names(self) -> set[str]:
        response = httpx.get(f"{self.prometheus.url}/api/v1/label/__name__/values", timeout=10)
        return set(response.json()["data"])

    def alerts_in_alertmanager(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.alertmanager.url}/api/v2/alerts", timeout=5)
        alerts: list[dict[str, Any]] = response.json()
        return alerts


def _blackbox_job(exporter: str, endpoint: str) -> dict[str, Any]:
    """Probe `endpoint` through the blackbox exporter, labelled with the endpoint."""
    return {
        "job_name": LIVE_CONFIG.jobs.blackbox,
        "metrics_path": "/probe",
        "params": {"module": [blackbox.MODULE]},
        "static_configs": [
            {"targets": [endpoint], "labels": {LIVE_CONFIG.environment_label: ENVIRONMENT}}
        ],
        "relabel_configs": [
            {"source_labels": ["__address__"], "target_label": "__param_target"},
            {"source_labels": ["__param_target"], "target_label": "instance"},
            {"target_label": "__address__", "replacement": exporter},
        ],
    }


def _prometheus_yml(
    targets: dict[str, str], alertmanager_address: str, rules: Path, probes: dict[str, Any]
) -> str:
    interval = f"{SCRAPE_INTERVAL_SECONDS}s"
    config = {
        "global": {
            "scrape_interval": interval,
            "scrape_timeout": interval,
            "evaluation_interval": LIVE_CONFIG.timing.evaluation_interval,
        },
        "rule_files": [str(rules / "*.yml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager_address]}]}]},
        "scrape_configs": [
            {
                "job_name": job,
                "static_configs": [
                    {"targets": [address], "labels": {LIVE_CONFIG.environment_label: ENVIRONMENT}}
                ],
            }
            for job, address in targets.items()
        ]
        + [probes],
    }
    return yaml.safe_dump(config, sort_keys=False)


def _alertmanager_yml() -> str:
    """The generated routes with receivers that deliver nowhere: the test reads the API."""
    receivers = {"receivers": [{"name": name} for name in alertmanager.RECEIVERS]}
    return (ALERTMANAGER_DIR / "routes.yml").read_text() + yaml.safe_dump(receivers)


def _exporters(
    postgres: PostgresServer, redis: RedisServer, backup: BackupHost
) -> tuple[Daemon, Daemon, Daemon]:
    node_port, pg_port, redis_port = free_port(), free_port(), free_port()
    node = Daemon(
        "node-exporter",
        [
            require_binary("prometheus-node-exporter", "prometheus-node-exporter"),
            f"--web.listen-address=127.0.0.1:{node_port}",
            "--no-collector.systemd",
            f"--collector.textfile.directory={backup.textfile_dir}",
        ],
        node_port,
    )
    pg = Daemon(
        "postgres-exporter",
        [
            require_binary("prometheus-postgres-exporter", "prometheus-postgres-exporter"),
            f"--web.listen-address=127.0.0.1:{pg_port}",
        ],
        pg_port,
        env={
            **os.environ,
            "DATA_SOURCE_NAME": f"postgresql://postgres@127.0.0.1:{postgres.port}/postgres?sslmode=disable",
        },
    )
    cache = Daemon(
        "redis-exporter",
        [
            require_binary("prometheus-redis-exporter", "prometheus-redis-exporter"),
            f"-redis.addr=redis://127.0.0.1:{redis.port}",
            f"-web.listen-address=127.0.0.1:{redis_port}",
        ],
        redis_port,
        env={**os.environ, "REDIS_PASSWORD": redis.password},
    )
    return node, pg, cache


def _tls_endpoint(workdir: Path) -> Daemon:
    """`openssl s_server` with a self-signed certificate valid for CERTIFICATE_DAYS."""
    openssl = require_binary("openssl", "openssl")
    key, cert = workdir / "tls.key", workdir / "tls.crt"
    run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            str(CERTIFICATE_DAYS),
            "-subj",
            "/CN=localhost",
        ]
    )
    port = free_port()
    return Daemon(
        "tls-endpoint",
        [
            openssl,
            "s_server",
            "-quiet",
            "-accept",
            f"127.0.0.1:{port}",
            "-cert",
            str(cert),
            "-key",
            str(key),
        ],
        port,
        ready_path=None,
    )


def _blackbox_exporter(config: Path) -> Daemon:
    port = free_port()
    return Daemon(
        "blackbox-exporter",
        [
            require_binary("prometheus-blackbox-exporter", "prometheus-blackbox-exporter"),
            f"--config.file={config}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        port,
    )


def _prepare_database(env: dict[str, str]) -> None:
    orgo(env, "migrate")
    orgo(env, "user", "create", "--email", ADMIN_EMAIL, "--admin", stdin=ADMIN_PASSWORD + "\n")


def _wait_healthy(process: OrgoProcess) -> None:
    wait_until(
        lambda: httpx.get(f"{process.url}/healthz", timeout=1).status_code == 200,
        120,
        f"orgo {process.command} on port {process.port}",
        0.3,
    )


def _alertmanager(workdir: Path) -> Daemon:
    config = workdir / "alertmanager.yml"
    config.write_text(_alertmanager_yml())
    port = free_port()
    return Daemon(
        "alertmanager",
        [
            require_binary("prometheus-alertmanager", "prometheus-alertmanager"),
            f"--config.file={config}",
            f"--storage.path={workdir / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        port,
        ready_path="/-/ready",
    )


def _prometheus(
    workdir: Path, rules: Path, targets: dict[str, str], probes: dict[str, Any], am: Daemon
) -> Daemon:
    port = free_port()
    targets = {**targets, LIVE_CONFIG.jobs.prometheus: f"127.0.0.1:{port}"}
    config = workdir / "prometheus.yml"
    config.write_text(_prometheus_yml(targets, f"127.0.0.1:{am.port}", rules, probes))
    return Daemon(
        "prometheus",
        [
            require_binary("prometheus", "prometheus"),
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'prom-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        port,
        ready_path="/-/ready",
    )


def require_monitoring_packages() -> None:
    """Fails before anything starts when a monitoring package is not installed."""
    missing = [package for package in MONITORING_PACKAGES if shutil.which(package) is None]
    if missing:
        pytest.fail(
            f"Debian package(s) {', '.join(missing)} not installed: run `make system-deps` "
            "(scripts/system-deps.sh)"
        )


@contextlib.contextmanager
def live_stack() -> Any:
    require_monitoring_packages()
    workdir = Path(tempfile.mkdtemp(prefix="orgo-observability-"))
    started: list[Any] = []
    # RabbitMQ takes the longest to boot: start it next to PostgreSQL and Redis.
    broker: list[RabbitmqServer] = []
    boot = threading.Thread(
        target=lambda: broker.append(RabbitmqServer(plugins=("rabbitmq_prometheus",)))
    )
    boot.start()
    try:
        postgres = PostgresServer()
        started.append(postgres)
        redis = RedisServer()
        started.append(redis)
        # Schema and first user need only the database: done while RabbitMQ boots.
        _prepare_database(orgo_env(postgres.url, redis.url))
        # The hosts' backup script, once: its outcome is what the backup alerts read.
        backup = BackupHost.create(postgres)
        started.append(backup)
        backed_up = backup.run()
        if backed_up.returncode != 0:
            raise RuntimeError(f"orgo-backup failed: {backed_up.stderr}")
        boot.join()
        if not broker:
            raise RuntimeError("RabbitMQ did not start; see the exception above")
        rabbitmq = broker[0]
        env = orgo_env(postgres.url, redis.url, rabbitmq.url)
        # The app boots while the exporters and the monitoring start.
        api = OrgoProcess("api", env)
        worker = OrgoProcess("worker", env)
        node, pg, cache = _exporters(postgres, redis, backup)
        generated = workdir / "observability"
        write(generated, LIVE_CONFIG)
        tls = _tls_endpoint(workdir)
        probe = _blackbox_exporter(generated / "prometheus" / "blackbox.yml")
        am = _alertmanager(workdir)
        jobs = LIVE_CONFIG.jobs
        targets = {
            jobs.api: f"127.0.0.1:{api.port}",
            jobs.worker: f"127.0.0.1:{worker.port}",
            jobs.node: f"127.0.0.1:{node.port}",
            jobs.postgres: f"127.0.0.1:{pg.port}",
            jobs.redis: f"127.0.0.1:{cache.port}",
            jobs.rabbitmq: f"127.0.0.1:{rabbitmq.prometheus_port}",
        }
        probes = _blackbox_job(f"127.0.0.1:{probe.port}", f"127.0.0.1:{tls.port}")
        prometheus = _prometheus(workdir, generated / RULES_DIR, targets, probes, am)
        started += [api, worker, node, pg, cache, tls, probe, am, prometheus]
        api.start(wait=False)
        worker.start(wait=False)
        for daemon in (node, pg, cache, tls, probe, am, prometheus):
            daemon.start(workdir)
        _wait_healthy(api)
        _wait_healthy(worker)
        yield LiveStack(
            workdir,
            postgres,
            redis,
            rabbitmq,
            api,
            worker,
            prometheus,
            am,
            tls_endpoint=f"127.0.0.1:{tls.port}",
            backup=backup,
        )
    finally:
        boot.join()
        for item in [*reversed(started), *broker]:
            with contextlib.suppress(Exception):
                if isinstance(item, OrgoProcess):
                    item.stop()
                    item.log_path.unlink(missing_ok=True)
                elif isinstance(item, Daemon):
                    item.stop()
                else:
                    item.destroy()
        shutil.rmtree(workdir, ignore_errors=True)
