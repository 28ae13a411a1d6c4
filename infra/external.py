"""Services that live outside the cluster, handed to the Kubernetes platform.

The AWS layer (infra/aws) creates managed PostgreSQL / Redis / RabbitMQ and describes
them with these types; the platform components then skip their in-cluster counterpart
and wire the Orgo chart to the endpoint instead. Passwords are Pulumi secrets.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class ExternalPostgres:
    host: pulumi.Input[str]
    port: pulumi.Input[int]
    database: pulumi.Input[str]
    username: pulumi.Input[str]
    password: pulumi.Input[str]
    require_tls: bool = True


@dataclass(frozen=True)
class ExternalRedis:
    host: pulumi.Input[str]
    port: pulumi.Input[int]
    password: pulumi.Input[str]
    tls: bool = True


@dataclass(frozen=True)
class ExternalRabbitmq:
    host: pulumi.Input[str]
    port: pulumi.Input[int]
    vhost: pulumi.Input[str]
    username: pulumi.Input[str]
    password: pulumi.Input[str]
    tls: bool = True


@dataclass(frozen=True)
class ExternalServices:
    """What a cloud layer provides; any field left None is run in the cluster."""

    postgres: ExternalPostgres | None = None
    redis: ExternalRedis | None = None
    rabbitmq: ExternalRabbitmq | None = None
    # Region of the buckets below (the app's S3 client and barman need it).
    region: pulumi.Input[str] | None = None
    # S3 buckets for CloudNativePG / Elasticsearch backups and for the app's files, when
    # the cloud layer made them. Their IAM roles reach the pods through Pod Identity
    # associations (namespace + service account), so the platform annotates nothing.
    backup_bucket: pulumi.Input[str] | None = None
    files_bucket: pulumi.Input[str] | None = None
    # Security group the Gateway's cloud load balancer must use (the only one open to the
    # internet, on 443); without it the cloud controller would create its own.
    load_balancer_security_group: pulumi.Input[str] | None = None
