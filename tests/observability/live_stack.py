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
import yaml

from observability import alertmanager
from observability.config import Config, Timing
from observability.generate import RULES_DIR, write
from tests.harness.orgo import OrgoProcess, orgo, orgo_env
from tests.harness.processes import free_port, require_binary, stop_process, wait_until
from tests.harness.services import PostgresServer, RabbitmqServer, RedisServer
from tests.observability.conftest import ALERTMANAGER_DIR, REPO

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
EXPORTER_PACKAGES = ("prometheus-postgres-exporter", "prometheus-redis-exporter")
ENVIRONMENT = "live-test"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "observability-live-test"  # a throwaway user in a throwaway database


@dataclass
class Daemon:
    """A background server process with its output in a log file."""

    name: str
    args: list[str]
    port: int
    ready_path: str = "/metrics"
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
    exporters: list[Daemon]

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


def _prometheus_yml(targets: dict[str, str], alertmanager_address: str, rules: Path) -> str:
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
        ],
    }
    return yaml.safe_dump(config, sort_keys=False)


def _alertmanager_yml() -> str:
    """The generated routes with receivers that deliver nowhere: the test reads the API."""
    receivers = {"receivers": [{"name": name} for name in alertmanager.RECEIVERS]}
    return (ALERTMANAGER_DIR / "routes.yml").read_text() + yaml.safe_dump(receivers)


def _exporters(postgres: PostgresServer, redis: RedisServer) -> tuple[Daemon, Daemon, Daemon]:
    node_port, pg_port, redis_port = free_port(), free_port(), free_port()
    node = Daemon(
        "node-exporter",
        [
            require_binary("prometheus-node-exporter", "prometheus-node-exporter"),
            f"--web.listen-address=127.0.0.1:{node_port}",
            "--no-collector.systemd",
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


def _monitoring(workdir: Path, targets: dict[str, str]) -> tuple[Daemon, Daemon]:
    rules_root = workdir / "observability"
    write(rules_root, LIVE_CONFIG)
    am_port, prom_port = free_port(), free_port()
    am_config = workdir / "alertmanager.yml"
    am_config.write_text(_alertmanager_yml())
    am = Daemon(
        "alertmanager",
        [
            require_binary("prometheus-alertmanager", "prometheus-alertmanager"),
            f"--config.file={am_config}",
            f"--storage.path={workdir / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{am_port}",
            "--cluster.listen-address=",
        ],
        am_port,
        ready_path="/-/ready",
    ).start(workdir)
    targets = {**targets, "prometheus": f"127.0.0.1:{prom_port}"}
    prom_config = workdir / "prometheus.yml"
    prom_config.write_text(_prometheus_yml(targets, f"127.0.0.1:{am_port}", rules_root / RULES_DIR))
    prom = Daemon(
        "prometheus",
        [
            require_binary("prometheus", "prometheus"),
            f"--config.file={prom_config}",
            f"--storage.tsdb.path={workdir / 'prom-data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        prom_port,
        ready_path="/-/ready",
    ).start(workdir)
    return prom, am


def install_exporters() -> None:
    """The PostgreSQL and Redis exporters are not in `make system-deps` (yet)."""
    subprocess.run(
        ["bash", "-c", ". scripts/lib.sh && apt_install " + " ".join(EXPORTER_PACKAGES)],
        cwd=REPO,
        check=True,
    )


@contextlib.contextmanager
def live_stack() -> Any:
    install_exporters()
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
        boot.join()
        if not broker:
            raise RuntimeError("RabbitMQ did not start; see the exception above")
        rabbitmq = broker[0]
        env = orgo_env(postgres.url, redis.url, rabbitmq.url)
        # The app boots while the exporters and the monitoring start.
        api = OrgoProcess("api", env).start(wait=False)
        worker = OrgoProcess("worker", env).start(wait=False)
        started += [api, worker]
        exporters = [daemon.start(workdir) for daemon in _exporters(postgres, redis)]
        started += exporters
        node, pg, cache = exporters
        jobs = LIVE_CONFIG.jobs
        prometheus, am = _monitoring(
            workdir,
            {
                jobs.api: f"127.0.0.1:{api.port}",
                jobs.worker: f"127.0.0.1:{worker.port}",
                jobs.node: f"127.0.0.1:{node.port}",
                jobs.postgres: f"127.0.0.1:{pg.port}",
                jobs.redis: f"127.0.0.1:{cache.port}",
                jobs.rabbitmq: f"127.0.0.1:{rabbitmq.prometheus_port}",
            },
        )
        started += [am, prometheus]
        _wait_healthy(api)
        _wait_healthy(worker)
        yield LiveStack(workdir, postgres, redis, rabbitmq, api, worker, prometheus, am, exporters)
    finally:
        boot.join()
        for item in [*reversed(started), *broker]:
            with contextlib.suppress(Exception):
                if isinstance(item, (Daemon, OrgoProcess)):
                    item.stop()
                else:
                    item.destroy()
        shutil.rmtree(workdir, ignore_errors=True)
