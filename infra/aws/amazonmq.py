"""Amazon MQ for RabbitMQ, in place of the in-cluster RabbitMQ cluster."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlparse

import pulumi
import pulumi_aws as aws

from infra.aws.config import AwsConfig
from infra.aws.credentials import generated_password
from infra.aws.network import Network
from infra.aws.pins import aws_pins
from infra.aws.tags import resource_tags
from infra.external import ExternalRabbitmq

AMQPS_PORT = 5671
USERNAME = "orgo"
# Amazon MQ creates only the default vhost; others need its management API.
VHOST = "/"


def _amqps_host(instances: Sequence[aws.mq.outputs.BrokerInstance]) -> str:
    """The broker's AMQPS endpoint (`amqps://b-….mq.<region>.amazonaws.com:5671`) host."""
    endpoint = instances[0].endpoints[0] if instances and instances[0].endpoints else ""
    return urlparse(endpoint).hostname or ""


class ManagedRabbitmq(pulumi.ComponentResource):
    """Private broker (no public endpoint), AMQP over TLS only; Amazon MQ encrypts RabbitMQ
    storage at rest with an AWS-owned key (customer keys are not offered for RabbitMQ)."""

    endpoint: ExternalRabbitmq

    def __init__(
        self,
        name: str,
        config: AwsConfig,
        network: Network,
        client_group_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("orgo:aws:ManagedRabbitmq", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = config.services.rabbitmq
        clustered = settings.deployment == "cluster"
        subnet_ids = network.private_subnet_ids
        group = network.security_group(
            "rabbitmq", AMQPS_PORT, source_group_id=client_group_id, opts=child
        )
        password = generated_password(f"{name}-password", child)
        broker = aws.mq.Broker(
            name,
            broker_name=f"{config.name}-rabbitmq",
            engine_type="RabbitMQ",
            engine_version=aws_pins().rabbitmq_engine,
            host_instance_type=settings.instance_type,
            deployment_mode="CLUSTER_MULTI_AZ" if clustered else "SINGLE_INSTANCE",
            subnet_ids=subnet_ids if clustered else subnet_ids[:1],
            security_groups=[group.id],
            publicly_accessible=False,
            auto_minor_version_upgrade=True,
            authentication_strategy="simple",
            users=[aws.mq.BrokerUserArgs(username=USERNAME, password=password)],
            logs=aws.mq.BrokerLogsArgs(general=True),
            maintenance_window_start_time=aws.mq.BrokerMaintenanceWindowStartTimeArgs(
                day_of_week="SUNDAY", time_of_day="03:30", time_zone="UTC"
            ),
            tags=resource_tags(config.tags, name),
            opts=pulumi.ResourceOptions(parent=self, protect=config.protection.deletion_protection),
        )
        host = broker.instances.apply(_amqps_host)
        self.endpoint = ExternalRabbitmq(
            host=host,
            port=AMQPS_PORT,
            vhost=VHOST,
            username=USERNAME,
            password=password,
            tls=True,
        )
        self.register_outputs({"host": host})
