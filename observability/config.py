"""The one config every rule, dashboard and route is generated from (the mixin's `_config`).

Change a selector, an SLO or a threshold here, run `python -m observability.generate`, and
every target (Ansible, Helm chart, Pulumi) picks the result up from the generated files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from orgo.core.metrics import LATENCY_BUCKETS

# The outcome of the PostgreSQL backups, as Unix times (0: never): written by the hosts'
# orgo-backup for node exporter, renamed to these from CloudNativePG's series on Kubernetes.
BACKUP_SUCCESS = "orgo_backup_last_success_timestamp_seconds"
BACKUP_FAILURE = "orgo_backup_last_failure_timestamp_seconds"
# Bucket boundaries of orgo_http_request_duration_seconds, defined by the app that exports
# them. A latency SLO threshold must be one of them: the SLI counts requests in the `le`
# bucket.
API_LATENCY_BUCKETS = LATENCY_BUCKETS

_DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")


class ConfigError(ValueError):
    """A config value is out of range; the message names the key and what is allowed."""


def check_duration(key: str, value: str) -> None:
    if not _DURATION.match(value):
        raise ConfigError(
            f"{key}={value!r} is not a Prometheus duration; use e.g. '30s', '5m', '1h30m'"
        )


@dataclass(frozen=True)
class Jobs:
    """Prometheus scrape job names. Every target's scrape config must use exactly these."""

    api: str = "orgo-api"
    worker: str = "orgo-worker"
    node: str = "node"
    postgres: str = "postgres"
    redis: str = "redis"
    rabbitmq: str = "rabbitmq"
    prometheus: str = "prometheus"
    # blackbox exporter probing TLS endpoints (nginx on hosts) for certificate expiry
    blackbox: str = "blackbox"


@dataclass(frozen=True)
class BurnWindow:
    """One multi-window burn-rate condition (Google SRE workbook, chapter 5)."""

    long: str
    short: str
    factor: float


@dataclass(frozen=True)
class Slo:
    """API service level objectives over `period`."""

    availability_target: float = 0.995
    latency_target: float = 0.99
    latency_threshold_seconds: float = 0.25
    period: str = "30d"
    # Routes the SLIs leave out: probes and scrapes are not user traffic.
    excluded_routes: tuple[str, ...] = ("/healthz", "/readyz", "/metrics")
    # Fast burn pages (2% / 5% of a 30-day budget spent in 1h / 6h); slow burn opens a ticket.
    fast_burn: tuple[BurnWindow, ...] = (
        BurnWindow("1h", "5m", 14.4),
        BurnWindow("6h", "30m", 6.0),
    )
    slow_burn: tuple[BurnWindow, ...] = (
        BurnWindow("1d", "2h", 3.0),
        BurnWindow("3d", "6h", 1.0),
    )

    def windows(self) -> list[str]:
        """Every rate window a recording rule must exist for (burn windows and the SLO
        period, for the error budget), shortest first."""
        found = {w.long for w in self.fast_burn + self.slow_burn}
        found |= {w.short for w in self.fast_burn + self.slow_burn}
        found.add(self.period)
        return sorted(found, key=_seconds)


@dataclass(frozen=True)
class Thresholds:
    """Alert thresholds; ratios are 0..1."""

    outbox_oldest_age_seconds: float = 300
    dead_letter_messages: float = 0
    connections_ratio: float = 0.8
    memory_ratio: float = 0.9
    rabbitmq_disk_free_factor: float = 2.0  # warn at 2x the broker's own disk alarm limit
    host_cpu_ratio: float = 0.9
    host_memory_available_ratio: float = 0.1
    host_filesystem_available_ratio: float = 0.1
    certificate_days: float = 14
    # Age of the newest successful PostgreSQL backup that alerts: the backups are daily
    # (hosts' orgo-backup.timer at 02:30 plus up to 10 minutes' random delay, CloudNativePG's
    # ScheduledBackup at 03:00), so 26 hours is one missed run plus time for a slow one.
    backup_age_hours: float = 26


@dataclass(frozen=True)
class Timing:
    """Evaluation interval and `for` durations. Tests shorten them to prove alerts live."""

    evaluation_interval: str = "30s"
    burn_for: str = "2m"  # multi-window burn rates need little extra smoothing
    down_for: str = "2m"  # a component that should always answer is unreachable
    symptom_for: str = "5m"  # lag, queues, failing jobs
    saturation_for: str = "10m"  # resources running out
    target_down_for: str = "5m"


@dataclass(frozen=True)
class Logs:
    """Elasticsearch storage of the app's ECS log lines."""

    data_stream: str = "logs-orgo-default"  # matches the index template's logs-orgo-*
    rollover_age: str = "1d"
    rollover_size: str = "25gb"
    retention: str = "14d"  # delete a backing index this long after rollover


@dataclass(frozen=True)
class Config:
    jobs: Jobs = field(default_factory=Jobs)
    slo: Slo = field(default_factory=Slo)
    thresholds: Thresholds = field(default_factory=Thresholds)
    timing: Timing = field(default_factory=Timing)
    logs: Logs = field(default_factory=Logs)
    # Target label that names the deployment (dev, staging, prod); dashboards filter on it
    # and alerts keep it, so routing can tell environments apart.
    environment_label: str = "env"
    runbook_base_url: str = "https://github.com/orgo-platform/orgo-platform/blob/main/docs/runbooks"
    # Mountpoints the host alerts and dashboards ignore (pseudo and container filesystems).
    ignored_fstypes: str = "tmpfs|overlay|squashfs|nsfs|fuse.*|ramfs|devtmpfs"

    def __post_init__(self) -> None:
        validate(self)


def validate(config: Config) -> None:
    slo = config.slo
    for key, target in (
        ("slo.availability_target", slo.availability_target),
        ("slo.latency_target", slo.latency_target),
    ):
        if not 0 < target < 1:
            raise ConfigError(f"{key}={target} must be between 0 and 1 (exclusive), e.g. 0.995")
    if slo.latency_threshold_seconds not in API_LATENCY_BUCKETS:
        raise ConfigError(
            f"slo.latency_threshold_seconds={slo.latency_threshold_seconds} must be one of "
            f"the API histogram buckets {API_LATENCY_BUCKETS}"
        )
    check_duration("slo.period", slo.period)
    for window in slo.fast_burn + slo.slow_burn:
        check_duration("slo burn window", window.long)
        check_duration("slo burn window", window.short)
    for name, value in vars(config.timing).items():
        check_duration(f"timing.{name}", value)
    for name in ("rollover_age", "retention"):
        check_duration(f"logs.{name}", getattr(config.logs, name))
    if not config.logs.data_stream.startswith("logs-orgo-"):
        raise ConfigError(
            f"logs.data_stream={config.logs.data_stream!r} must start with 'logs-orgo-' "
            "(the index template's pattern)"
        )
    if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", config.environment_label):
        raise ConfigError(
            f"environment_label={config.environment_label!r} is not a Prometheus label name"
        )


_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def _seconds(duration: str) -> float:
    return sum(
        float(n) * _UNIT_SECONDS[u] for n, u in re.findall(r"([0-9]+)(ms|s|m|h|d|w|y)", duration)
    )


DEFAULT = Config()
