"""Runs the real `orgo` API and worker as processes, the way deployments run them."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import httpx

from tests.harness.processes import free_port, stop_process, wait_until

ORGO = str(Path(sys.executable).with_name("orgo"))

# Cheap Argon2 parameters keep logins fast in tests; the production defaults are in Settings.
FAST_HASHING = {
    "ORGO_ARGON2_TIME_COST": "1",
    "ORGO_ARGON2_MEMORY_COST_KIB": "8192",
    "ORGO_ARGON2_PARALLELISM": "1",
}


def orgo_env(
    database_url: str, redis_url: str = "", amqp_url: str = "", **extra: str
) -> dict[str, str]:
    """Environment for one deployment: ORGO_ENV=test, a fresh secret, the given services."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("ORGO_")}
    base.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return {
        **base,
        "ORGO_ENV": "test",
        "ORGO_JWT_SECRET": secrets.token_urlsafe(48),
        "ORGO_DATABASE_URL": database_url,
        "ORGO_REDIS_URL": redis_url,
        "ORGO_AMQP_URL": amqp_url,
        "ORGO_WORKER_RETRY_BASE_SECONDS": "0.2",
        "ORGO_RELAY_INTERVAL_SECONDS": "0.2",
        **FAST_HASHING,
        **extra,
    }


def orgo(env: Mapping[str, str], *args: str, stdin: str | None = None) -> str:
    """Runs one `orgo` command to completion; raises with its output on failure."""
    result = subprocess.run(
        [ORGO, *args],
        env=dict(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"orgo {' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result.stdout


class OrgoProcess:
    """`orgo api` or `orgo worker` in the background, its ECS log lines kept in a file."""

    def __init__(self, command: str, env: Mapping[str, str]) -> None:
        self.command = command
        self.port = free_port()
        key = "ORGO_PORT" if command == "api" else "ORGO_WORKER_METRICS_PORT"
        self.env = {**env, key: str(self.port)}
        self.log_path = Path(tempfile.mkstemp(prefix=f"orgo-{command}-", suffix=".log")[1])
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True) -> OrgoProcess:
        log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            [ORGO, self.command], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        if wait:
            wait_until(self._healthy, 60, f"orgo {self.command} on port {self.port}")
        return self

    def _healthy(self) -> bool:
        if self._proc is not None and self._proc.poll() is not None:
            raise RuntimeError(f"orgo {self.command} exited: {self.logs()[-2000:]}")
        return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self._proc is not None:
            stop_process(self._proc, sig)
            self._proc = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def metric(self, name: str, labels: Mapping[str, str] | None = None) -> float:
        """Sum of a metric's samples (matching the given labels) from this process's /metrics."""
        text = httpx.get(f"{self.url}/metrics", timeout=5).text
        return sample_sum(text, name, labels or {})


def sample_sum(exposition: str, name: str, labels: Mapping[str, str]) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def samples_named(exposition: str, prefix: str) -> dict[str, float]:
    """The value of every unlabelled sample whose name starts with PREFIX, by name."""
    from prometheus_client.parser import text_string_to_metric_families

    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name.startswith(prefix) and not sample.labels
    }
