"""PostgreSQL, Redis and RabbitMQ, from their exporters."""

from __future__ import annotations

from observability.config import BACKUP_SUCCESS, Config
from observability.dashboards.spec import (
    DashboardSpec,
    PanelSpec,
    Row,
    Target,
    bad_warn_ok,
    matchers,
    ok_warn_bad,
)

RATE = "[$__rate_interval]"


def _up(title: str, expr: str) -> PanelSpec:
    return PanelSpec(
        title,
        (Target(expr, "{{instance}}"),),
        unit="bool_yes_no",
        kind="stat",
        width=6,
        thresholds=bad_warn_ok(1, 1),
    )


def _postgres(config: Config) -> Row:
    m = matchers(config, config.jobs.postgres)
    ratio = config.thresholds.connections_ratio
    return Row(
        "PostgreSQL",
        (
            _up("PostgreSQL reachable", f"pg_up{m}"),
            PanelSpec(
                "Connections used",
                (
                    Target(
                        f"sum by (instance) (pg_stat_activity_count{m}) / "
                        f"max by (instance) (pg_settings_max_connections{m})",
                        "{{instance}}",
                    ),
                ),
                unit="percentunit",
                min=0,
                max=1,
                width=6,
                thresholds=ok_warn_bad(ratio * 0.8, ratio),
            ),
            PanelSpec(
                "Transactions",
                (
                    Target(
                        f"sum by (datname) (rate(pg_stat_database_xact_commit{m}{RATE}))",
                        "commit {{datname}}",
                    ),
                    Target(
                        f"sum by (datname) (rate(pg_stat_database_xact_rollback{m}{RATE}))",
                        "rollback {{datname}}",
                    ),
                ),
                unit="ops",
            ),
            PanelSpec(
                "Database size",
                (Target(f"sum by (datname) (pg_database_size_bytes{m})", "{{datname}}"),),
                unit="bytes",
            ),
            PanelSpec(
                "Deadlocks",
                (
                    Target(
                        f"sum by (datname) (increase(pg_stat_database_deadlocks{m}{RATE}))",
                        "{{datname}}",
                    ),
                ),
                unit="short",
            ),
            _backup_age(config),
        ),
    )


def _backup_age(config: Config) -> PanelSpec:
    """One query per source of the series: node exporter on hosts (its instances are not
    among $instance's), CloudNativePG's PodMonitor on Kubernetes (job postgres, empty on
    hosts). CloudNativePG's replicas report 0 (no backup of their own): left out."""
    age = config.thresholds.backup_age_hours * 3600
    hosts = f'{BACKUP_SUCCESS}{{job="{config.jobs.node}",{config.environment_label}=~"$env"}}'
    cnpg = f"{BACKUP_SUCCESS}{matchers(config, config.jobs.postgres)}"
    return PanelSpec(
        "Time since last backup",
        (
            Target(f"time() - ({hosts} > 0)", "{{instance}}"),
            Target(f"time() - ({cnpg} > 0)", "{{instance}}", may_be_empty=True),
        ),
        unit="s",
        description=(
            "Age of the newest successful PostgreSQL backup (hosts: orgo-backup; Kubernetes: "
            "CloudNativePG's last available backup). PostgresBackupStale fires above "
            f"{config.thresholds.backup_age_hours:g} hours, PostgresBackupFailed when a later "
            "run failed."
        ),
        kind="stat",
        width=24,
        thresholds=ok_warn_bad(age - 3600, age),
    )


def _redis(config: Config) -> Row:
    m = matchers(config, config.jobs.redis)
    ratio = config.thresholds.connections_ratio
    hits = f"rate(redis_keyspace_hits_total{m}{RATE})"
    misses = f"rate(redis_keyspace_misses_total{m}{RATE})"
    return Row(
        "Redis",
        (
            _up("Redis reachable", f"redis_up{m}"),
            PanelSpec(
                "Clients used",
                (
                    Target(
                        f"redis_connected_clients{m} / redis_config_maxclients{m}", "{{instance}}"
                    ),
                ),
                unit="percentunit",
                min=0,
                width=6,
                thresholds=ok_warn_bad(ratio * 0.8, ratio),
            ),
            PanelSpec(
                "Memory",
                (
                    Target(f"redis_memory_used_bytes{m}", "used {{instance}}"),
                    Target(f"redis_memory_max_bytes{m}", "maxmemory {{instance}}"),
                ),
                unit="bytes",
                min=0,
            ),
            PanelSpec(
                "Commands and keyspace hit ratio",
                (
                    Target(
                        f"rate(redis_commands_processed_total{m}{RATE})", "commands {{instance}}"
                    ),
                    Target(f"{hits} / ({hits} + {misses})", "hit ratio {{instance}}"),
                ),
                unit="short",
            ),
            PanelSpec(
                "Evicted keys",
                (Target(f"rate(redis_evicted_keys_total{m}{RATE})", "{{instance}}"),),
                unit="ops",
                width=24,
            ),
        ),
    )


def _rabbitmq(config: Config) -> Row:
    m = matchers(config, config.jobs.rabbitmq)
    ratio = config.thresholds.memory_ratio
    return Row(
        "RabbitMQ",
        (
            _up("RabbitMQ reachable", f"up{m}"),
            PanelSpec(
                "Memory used of watermark",
                (
                    Target(
                        f"rabbitmq_process_resident_memory_bytes{m} / "
                        f"rabbitmq_resident_memory_limit_bytes{m}",
                        "{{instance}}",
                    ),
                ),
                unit="percentunit",
                min=0,
                max=1,
                width=6,
                thresholds=ok_warn_bad(ratio * 0.8, ratio),
            ),
            PanelSpec(
                "Messages in queues",
                (
                    Target(f"sum(rabbitmq_queue_messages_ready{m})", "ready"),
                    Target(f"sum(rabbitmq_queue_messages_unacked{m})", "unacked"),
                ),
                unit="short",
                min=0,
            ),
            PanelSpec(
                "Message rates",
                (
                    Target(
                        f"sum(rate(rabbitmq_global_messages_received_total{m}{RATE}))", "published"
                    ),
                    Target(
                        f"sum(rate(rabbitmq_global_messages_delivered_total{m}{RATE}))", "delivered"
                    ),
                    Target(
                        f"sum(rate(rabbitmq_global_messages_acknowledged_total{m}{RATE}))", "acked"
                    ),
                ),
                unit="ops",
            ),
            PanelSpec(
                "Connections and channels",
                (
                    Target(f"sum(rabbitmq_connections{m})", "connections"),
                    Target(f"sum(rabbitmq_channels{m})", "channels"),
                ),
                unit="short",
                min=0,
            ),
            PanelSpec(
                "Free disk and its alarm limit",
                (
                    Target(f"rabbitmq_disk_space_available_bytes{m}", "free {{instance}}"),
                    Target(f"rabbitmq_disk_space_available_limit_bytes{m}", "limit {{instance}}"),
                ),
                unit="bytes",
                min=0,
            ),
        ),
    )


def dashboard(config: Config) -> DashboardSpec:
    jobs = config.jobs
    return DashboardSpec(
        uid="orgo-data-services",
        title="Orgo / Data services",
        description="PostgreSQL, Redis and RabbitMQ health and saturation.",
        instance_jobs=(jobs.postgres, jobs.redis, jobs.rabbitmq),
        rows=(_postgres(config), _redis(config), _rabbitmq(config)),
    )
