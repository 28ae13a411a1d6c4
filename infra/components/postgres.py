"""PostgreSQL: CloudNativePG operator, a Cluster with the app's database, role and pgcrypto,
optional S3 backups with retention, metrics via PodMonitor, and a PgBouncer Pooler."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.components import k8s as kb
from infra.components import remote
from infra.components.monitoring import CONTRACT, job_relabeling
from infra.components.namespace import NamespaceArgs, PlatformNamespace
from infra.components.ordering import child_options
from infra.config import PostgresConfig
from infra.versions import versions
from observability.config import BACKUP_FAILURE, BACKUP_SUCCESS

NAMESPACE = "postgres"
CLUSTER = "orgo-postgres"
DATABASE = "orgo"
OWNER = "orgo"
# CloudNativePG exports its default queries as cnpg_<query>_<column> (custom queries get
# the same prefix, so they cannot produce other names). The shared rules and dashboards
# use the hosts' names: prometheus-postgres-exporter's, and the outcome times orgo-backup
# writes for node exporter. These CNPG series measure the same things, so the PodMonitor
# renames them at ingestion:
# (CNPG series, its `name` label or "" for any, hosts' series).
EXPORTER_NAMES = (
    ("cnpg_collector_up", "", "pg_up"),  # 1 while the instance manager reaches PostgreSQL
    ("cnpg_backends_total", "", "pg_stat_activity_count"),  # pg_stat_activity by state
    ("cnpg_pg_settings_setting", "max_connections", "pg_settings_max_connections"),
    ("cnpg_pg_database_size_bytes", "", "pg_database_size_bytes"),
    ("cnpg_pg_stat_database_xact_commit", "", "pg_stat_database_xact_commit"),
    ("cnpg_pg_stat_database_xact_rollback", "", "pg_stat_database_xact_rollback"),
    ("cnpg_pg_stat_database_deadlocks", "", "pg_stat_database_deadlocks"),
    # Unix times of the newest completed and the last failed backup of the cluster (0:
    # none), reported by the primary (replicas report 0), from the Cluster's status that
    # the barman object store backups update: the same meaning as orgo-backup's.
    ("cnpg_collector_last_available_backup_timestamp", "", BACKUP_SUCCESS),
    ("cnpg_collector_last_failed_backup_timestamp", "", BACKUP_FAILURE),
)


@dataclass(frozen=True)
class PostgresArgs:
    config: PostgresConfig
    password: pulumi.Input[str]  # the app role's password (a Pulumi secret)
    client_namespaces: tuple[str, ...]
    storage_class: str | None = None


class Postgres(pulumi.ComponentResource):
    host: pulumi.Output[str]
    port: int = 5432
    database: str = DATABASE
    username: str = OWNER

    def __init__(
        self, name: str, args: PostgresArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("orgo:platform:Postgres", name, None, opts)
        cfg = args.config
        namespace = PlatformNamespace(
            f"{name}-ns",
            NamespaceArgs(name=NAMESPACE, allow_from=args.client_namespaces, open_ports=(9443,)),
            pulumi.ResourceOptions(parent=self),
        )
        after_ns = child_options(self, opts, namespace)
        operator = remote.chart(
            f"{name}-operator",
            "cloudnative-pg",
            NAMESPACE,
            {"resources": kb.resources(kb.OPERATOR_RESOURCES)},
            after_ns,
        )
        credentials = k8s.core.v1.Secret(
            f"{name}-app-credentials",
            metadata={"name": f"{CLUSTER}-app-credentials", "namespace": NAMESPACE},
            type="kubernetes.io/basic-auth",
            string_data={"username": OWNER, "password": args.password},
            opts=after_ns,
        )
        after_operator = child_options(self, opts, operator, credentials)
        k8s.apiextensions.CustomResource(
            f"{name}-cluster",
            api_version="postgresql.cnpg.io/v1",
            kind="Cluster",
            metadata=kb.awaited({"name": CLUSTER, "namespace": NAMESPACE}, "Ready"),
            spec=self._cluster_spec(args, credentials),
            opts=after_operator,
        )
        if cfg.backup is not None:
            k8s.apiextensions.CustomResource(
                f"{name}-scheduled-backup",
                api_version="postgresql.cnpg.io/v1",
                kind="ScheduledBackup",
                metadata={"name": f"{CLUSTER}-daily", "namespace": NAMESPACE},
                spec={
                    "schedule": cfg.backup.schedule,
                    "cluster": {"name": CLUSTER},
                    "backupOwnerReference": "self",
                },
                opts=after_operator,
            )
        pooler_name = f"{CLUSTER}-pooler-rw"
        k8s.apiextensions.CustomResource(
            f"{name}-pooler",
            api_version="postgresql.cnpg.io/v1",
            kind="Pooler",
            metadata={"name": pooler_name, "namespace": NAMESPACE},
            spec=self._pooler_spec(cfg),
            opts=after_operator,
        )
        if cfg.pooler_instances > 1:
            selector = {"cnpg.io/poolerName": pooler_name}
            kb.disruption_budget(pooler_name, NAMESPACE, selector, after_operator)
        self.host = pulumi.Output.from_input(f"{pooler_name}.{NAMESPACE}.svc")
        self.register_outputs({"host": self.host})

    @staticmethod
    def _cluster_spec(args: PostgresArgs, credentials: k8s.core.v1.Secret) -> Any:
        cfg = args.config
        image = versions().images["postgres"]
        spec: dict[str, Any] = {
            "instances": cfg.instances,
            "imageName": image.ref,
            "storage": {"size": cfg.storage, **_storage_class(args.storage_class)},
            "resources": kb.resources(cfg.resources),
            "enablePDB": True,
            "affinity": {
                "enablePodAntiAffinity": True,
                "podAntiAffinityType": "required" if cfg.instances > 1 else "preferred",
                "topologyKey": "kubernetes.io/hostname",
            },
            "bootstrap": {
                "initdb": {
                    "database": DATABASE,
                    "owner": OWNER,
                    "secret": {"name": credentials.metadata["name"]},
                    "postInitApplicationSQL": ["CREATE EXTENSION IF NOT EXISTS pgcrypto"],
                }
            },
            # The operator's PodMonitor (its relabeling fields are deprecated in favour of
            # a PodMonitor of our own, which still work in the pinned CNPG).
            "monitoring": {
                "enablePodMonitor": True,
                "podMonitorRelabelings": job_relabeling(CONTRACT.jobs.postgres),
                "podMonitorMetricRelabelings": _exporter_renames(),
            },
        }
        if cfg.backup is not None:
            store: dict[str, Any] = {
                "destinationPath": cfg.backup.destination_path,
                "wal": {"compression": "gzip"},
                "data": {"compression": "gzip"},
            }
            if cfg.backup.endpoint_url:
                store["endpointURL"] = cfg.backup.endpoint_url
            if cfg.backup.credentials_secret:
                secret = cfg.backup.credentials_secret
                store["s3Credentials"] = {
                    "accessKeyId": {"name": secret, "key": "ACCESS_KEY_ID"},
                    "secretAccessKey": {"name": secret, "key": "ACCESS_SECRET_KEY"},
                }
            else:
                store["s3Credentials"] = {"inheritFromIAMRole": True}
            spec["backup"] = {"barmanObjectStore": store, "retentionPolicy": cfg.backup.retention}
        return spec

    @staticmethod
    def _pooler_spec(cfg: PostgresConfig) -> Any:
        selector = {"cnpg.io/poolerName": f"{CLUSTER}-pooler-rw"}
        return {
            "cluster": {"name": CLUSTER},
            "instances": cfg.pooler_instances,
            "type": "rw",
            # Session pooling: asyncpg's prepared statements need a stable server session.
            "pgbouncer": {"poolMode": "session", "parameters": {"max_client_conn": "500"}},
            "monitoring": {"enablePodMonitor": True},
            "template": {
                "metadata": {"labels": selector},
                "spec": {
                    "containers": [
                        {
                            "name": "pgbouncer",
                            "resources": kb.resources(kb.POOLER_RESOURCES),
                            "securityContext": kb.RESTRICTED_CONTAINER,
                        }
                    ],
                    **kb.spread_and_anti_affinity(selector, cfg.pooler_instances),
                },
            },
        }


def _exporter_renames() -> list[dict[str, Any]]:
    """Metric relabelings giving the EXPORTER_NAMES series their exporter names."""
    return [
        {
            "action": "replace",
            "sourceLabels": ["__name__", "name"],
            "regex": f"{cnpg};{name or '.*'}",
            "targetLabel": "__name__",
            "replacement": exporter,
        }
        for cnpg, name, exporter in EXPORTER_NAMES
    ]


def _storage_class(name: str | None) -> dict[str, str]:
    return {"storageClass": name} if name else {}
