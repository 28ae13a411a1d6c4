"""RDS for PostgreSQL, in place of the in-cluster CloudNativePG cluster."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from infra.aws.config import AwsConfig
from infra.aws.credentials import generated_password
from infra.aws.network import Network
from infra.aws.pins import aws_pins
from infra.aws.tags import resource_tags
from infra.external import ExternalPostgres

DATABASE = "orgo"
USERNAME = "orgo"
PORT = 5432
PARAMETERS = {
    "rds.force_ssl": "1",
    # CREATE EXTENSION is refused for anything not listed here.
    "rds.allowed_extensions": "pgcrypto,pg_stat_statements",
    "shared_preload_libraries": "pg_stat_statements",
}
STATIC_PARAMETERS = {"shared_preload_libraries"}


class ManagedPostgres(pulumi.ComponentResource):
    """Encrypted, Multi-AZ (configurable), automated backups, deletion protection,
    Performance Insights, TLS enforced; reachable only from the cluster's nodes and pods."""

    endpoint: ExternalPostgres

    def __init__(
        self,
        name: str,
        config: AwsConfig,
        network: Network,
        client_group_id: pulumi.Input[str],
        key_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("orgo:aws:ManagedPostgres", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        pins = aws_pins()
        settings = config.services.postgres
        protection = config.protection
        tags = resource_tags(config.tags, name)
        subnets = aws.rds.SubnetGroup(
            name, subnet_ids=network.private_subnet_ids, tags=tags, opts=child
        )
        parameters = aws.rds.ParameterGroup(
            name,
            family=pins.postgres_parameter_family,
            parameters=_parameters(),
            tags=tags,
            opts=child,
        )
        group = network.security_group(
            "postgres", PORT, source_group_id=client_group_id, opts=child
        )
        password = generated_password(f"{name}-password", child)
        instance = aws.rds.Instance(
            name,
            identifier=f"{config.name}-postgres",
            engine="postgres",
            engine_version=pins.postgres_engine,
            instance_class=settings.instance_class,
            allocated_storage=settings.allocated_storage_gib,
            max_allocated_storage=settings.max_allocated_storage_gib,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=key_arn,
            multi_az=settings.multi_az,
            db_name=DATABASE,
            username=USERNAME,
            password=password,
            port=PORT,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[group.id],
            parameter_group_name=parameters.name,
            publicly_accessible=False,
            iam_database_authentication_enabled=True,
            backup_retention_period=protection.backup_retention_days,
            backup_window="02:00-03:00",
            maintenance_window="sun:03:30-sun:04:30",
            copy_tags_to_snapshot=True,
            deletion_protection=protection.deletion_protection,
            skip_final_snapshot=False,
            final_snapshot_identifier=f"{config.name}-postgres-final",
            performance_insights_enabled=True,
            performance_insights_kms_key_id=key_arn,
            performance_insights_retention_period=7,
            enabled_cloudwatch_logs_exports=["postgresql", "upgrade"],
            auto_minor_version_upgrade=True,
            tags=tags,
            opts=child,
        )
        self.endpoint = ExternalPostgres(
            host=instance.address,
            port=instance.port,
            database=DATABASE,
            username=USERNAME,
            password=password,
            require_tls=True,
        )
        self.register_outputs({"host": instance.address, "port": instance.port})


def _parameters() -> Sequence[aws.rds.ParameterGroupParameterArgs]:
    return [
        aws.rds.ParameterGroupParameterArgs(
            name=key,
            value=value,
            apply_method="pending-reboot" if key in STATIC_PARAMETERS else "immediate",
        )
        for key, value in PARAMETERS.items()
    ]
