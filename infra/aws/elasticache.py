"""ElastiCache for Redis, in place of the in-cluster Redis."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.aws.config import AwsConfig
from infra.aws.credentials import generated_password
from infra.aws.network import Network
from infra.aws.pins import aws_pins
from infra.aws.tags import resource_tags
from infra.external import ExternalRedis

PORT = 6379


class ManagedRedis(pulumi.ComponentResource):
    """A replication group: TLS in transit (required), AUTH token, encryption at rest with
    the data key, Multi-AZ failover when it has replicas, daily snapshots."""

    endpoint: ExternalRedis

    def __init__(
        self,
        name: str,
        config: AwsConfig,
        network: Network,
        client_group_id: pulumi.Input[str],
        key_arn: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("orgo:aws:ManagedRedis", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        pins = aws_pins()
        settings = config.services.redis
        has_replicas = settings.replicas > 0
        tags = resource_tags(config.tags, name)
        subnets = aws.elasticache.SubnetGroup(
            name, subnet_ids=network.private_subnet_ids, tags=tags, opts=child
        )
        group = network.security_group("redis", PORT, source_group_id=client_group_id, opts=child)
        token = generated_password(f"{name}-auth", child)
        replication = aws.elasticache.ReplicationGroup(
            name,
            description=f"Orgo cache ({config.name})",
            engine="redis",
            engine_version=pins.redis_engine,
            parameter_group_name=f"default.{pins.redis_parameter_family}",
            node_type=settings.node_type,
            num_cache_clusters=1 + settings.replicas,
            automatic_failover_enabled=has_replicas,
            multi_az_enabled=has_replicas,
            port=PORT,
            subnet_group_name=subnets.name,
            security_group_ids=[group.id],
            at_rest_encryption_enabled=True,
            kms_key_id=key_arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=token,
            snapshot_retention_limit=config.protection.backup_retention_days,
            snapshot_window="02:00-03:00",
            maintenance_window="sun:03:30-sun:04:30",
            final_snapshot_identifier=f"{config.name}-redis-final",
            auto_minor_version_upgrade=True,
            tags=tags,
            # ElastiCache has no deletion-protection flag; Pulumi's protect stands in.
            opts=pulumi.ResourceOptions(parent=self, protect=config.protection.deletion_protection),
        )
        self.endpoint = ExternalRedis(
            host=replication.primary_endpoint_address, port=PORT, password=token, tls=True
        )
        self.register_outputs({"host": replication.primary_endpoint_address})
