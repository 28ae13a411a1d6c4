"""Alerts on PostgreSQL, Redis and RabbitMQ, read from their exporters."""

from __future__ import annotations

from observability.config import BACKUP_FAILURE, BACKUP_SUCCESS, Config
from observability.rules.model import Alert, Group


def _where(config: Config) -> str:
    return "{{ $labels." + config.environment_label + " }} ({{ $labels.instance }})"


def _by(config: Config) -> str:
    return f"{config.environment_label}, job, instance"


def _postgres(config: Config) -> list[Alert]:
    job, by = config.jobs.postgres, _by(config)
    ratio = config.thresholds.connections_ratio
    return [
        Alert(
            name="PostgresDown",
            expr=f'pg_up{{job="{job}"}} == 0',
            for_=config.timing.down_for,
            severity="critical",
            summary="PostgreSQL is unreachable.",
            description=f"The exporter cannot connect to PostgreSQL in {_where(config)}.",
        ),
        Alert(
            name="PostgresConnectionsHigh",
            expr=(
                f'sum by ({by}) (pg_stat_activity_count{{job="{job}"}})\n/ '
                f'max by ({by}) (pg_settings_max_connections{{job="{job}"}})\n> {ratio:g}\n'
            ),
            for_=config.timing.saturation_for,
            severity="warning",
            summary="PostgreSQL is running out of connections.",
            description=(
                f"{_where(config)} uses {{{{ $value | humanizePercentage }}}} of "
                "max_connections; new connections will soon be refused."
            ),
        ),
        *_backups(config),
    ]


def _backups(config: Config) -> list[Alert]:
    """The outcome of the PostgreSQL backups, as Unix times of the last successful and the
    last failed one (0: never). Hosts: orgo-backup records them, node exporter serves them
    (job node). Kubernetes: CloudNativePG's cnpg_collector_last_available_backup_timestamp
    and cnpg_collector_last_failed_backup_timestamp, renamed at ingestion by the Cluster's
    PodMonitor; its replicas report 0 for both. No job matcher: the series name is the
    contract, whichever job carries it."""
    success, failure = BACKUP_SUCCESS, BACKUP_FAILURE
    hours = config.thresholds.backup_age_hours
    return [
        Alert(
            name="PostgresBackupFailed",
            expr=f"{failure}\n> {success}\n",
            for_=config.timing.symptom_for,
            severity="warning",
            summary="The last PostgreSQL backup failed.",
            description=(
                f"The backup of {_where(config)} failed at "
                "{{ $value | humanizeTimestamp }} and none has succeeded since."
            ),
        ),
        Alert(
            name="PostgresBackupStale",
            expr=f"time() - {success}\n> {hours:g} * 3600\nand\n{success} > 0\n",
            for_=config.timing.symptom_for,
            severity="critical",
            summary=f"No PostgreSQL backup has succeeded for more than {hours:g} hours.",
            description=(
                f"The newest successful backup of {_where(config)} is "
                "{{ $value | humanizeDuration }} old: a restore would lose everything "
                "written since."
            ),
        ),
    ]


def _redis(config: Config) -> list[Alert]:
    job = config.jobs.redis
    limits = config.thresholds
    return [
        Alert(
            name="RedisDown",
            expr=f'redis_up{{job="{job}"}} == 0',
            for_=config.timing.down_for,
            severity="critical",
            summary="Redis is unreachable; the API serves reads from PostgreSQL.",
            description=f"The exporter cannot connect to Redis in {_where(config)}.",
        ),
        Alert(
            name="RedisMemoryHigh",
            expr=(
                f'redis_memory_used_bytes{{job="{job}"}}\n/ '
                f'(redis_memory_max_bytes{{job="{job}"}} > 0)\n> {limits.memory_ratio:g}\n'
            ),
            for_=config.timing.saturation_for,
            severity="warning",
            summary="Redis is close to its maxmemory limit.",
            description=(
                f"{_where(config)} uses {{{{ $value | humanizePercentage }}}} of maxmemory; "
                "keys are being evicted or writes refused."
            ),
        ),
        Alert(
            name="RedisConnectionsHigh",
            expr=(
                f'redis_connected_clients{{job="{job}"}}\n/ '
                f'redis_config_maxclients{{job="{job}"}}\n> {limits.connections_ratio:g}\n'
            ),
            for_=config.timing.saturation_for,
            severity="warning",
            summary="Redis is running out of client connections.",
            description=(
                f"{_where(config)} uses {{{{ $value | humanizePercentage }}}} of maxclients."
            ),
        ),
    ]


def _rabbitmq(config: Config) -> list[Alert]:
    job, by = config.jobs.rabbitmq, _by(config)
    limits = config.thresholds
    alarms = " + ".join(
        f'rabbitmq_alarms_{name}{{job="{job}"}}'
        for name in ("memory_used_watermark", "free_disk_space_watermark", "file_descriptor_limit")
    )
    return [
        Alert(
            name="RabbitmqDown",
            expr=f'up{{job="{job}"}} == 0',
            for_=config.timing.down_for,
            severity="critical",
            summary="RabbitMQ is unreachable; events wait in the outbox.",
            description=f"Prometheus cannot scrape RabbitMQ in {_where(config)}.",
        ),
        Alert(
            name="RabbitmqResourceAlarm",
            expr=f"max by ({by}) ({alarms}) > 0",
            for_=config.timing.down_for,
            severity="critical",
            summary="RabbitMQ raised a resource alarm and blocks publishers.",
            description=(
                f"{_where(config)} has a memory, disk or file descriptor alarm; "
                "the outbox relay cannot publish until it clears."
            ),
        ),
        Alert(
            name="RabbitmqMemoryHigh",
            expr=(
                f'rabbitmq_process_resident_memory_bytes{{job="{job}"}}\n/ '
                f'rabbitmq_resident_memory_limit_bytes{{job="{job}"}}\n> {limits.memory_ratio:g}\n'
            ),
            for_=config.timing.saturation_for,
            severity="warning",
            summary="RabbitMQ is close to its memory high watermark.",
            description=(
                f"{_where(config)} uses {{{{ $value | humanizePercentage }}}} of its memory "
                "limit; at 100% it blocks publishers."
            ),
        ),
        Alert(
            name="RabbitmqDiskSpaceLow",
            expr=(
                f'rabbitmq_disk_space_available_bytes{{job="{job}"}}\n< '
                f"{limits.rabbitmq_disk_free_factor:g} * "
                f'rabbitmq_disk_space_available_limit_bytes{{job="{job}"}}\n'
            ),
            for_=config.timing.saturation_for,
            severity="warning",
            summary="RabbitMQ is close to its free disk limit.",
            description=(
                f"{_where(config)} has {{{{ $value | humanize1024 }}}}B free, less than "
                f"{limits.rabbitmq_disk_free_factor:g}x its disk alarm limit."
            ),
        ),
        Alert(
            name="RabbitmqConnectionsHigh",
            expr=(
                f'rabbitmq_process_open_tcp_sockets{{job="{job}"}}\n/ '
                f'rabbitmq_process_max_tcp_sockets{{job="{job}"}}\n> '
                f"{limits.connections_ratio:g}\n"
            ),
            for_=config.timing.saturation_for,
            severity="warning",
            summary="RabbitMQ is running out of connection sockets.",
            description=(
                f"{_where(config)} uses {{{{ $value | humanizePercentage }}}} of its TCP "
                "socket limit."
            ),
        ),
    ]


def group(config: Config) -> Group:
    rules = (*_postgres(config), *_redis(config), *_rabbitmq(config))
    return Group(file="data-services", name="data-services", rules=rules)
