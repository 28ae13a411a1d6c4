"""Typed config of the AWS layer (stack config key `orgo:aws`).

`AwsConfig.model_validate(raw)` runs before any resource is declared. Every error names
the key (as a path below `orgo:aws`) and what is allowed.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Network
from itertools import combinations
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from infra.aws.pins import aws_pins
from infra.config import Hostname

# Commercial-partition regions that offer EKS, RDS, ElastiCache and Amazon MQ for RabbitMQ
# with at least three availability zones.
Region = Literal[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "ca-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-south-1",
    "sa-east-1",
]
# Current-generation, burst-free node types: Graviton (g) and x86 (m/c/r 6-7).
NodeInstanceType = Literal[
    "m7g.large",
    "m7g.xlarge",
    "m7g.2xlarge",
    "c7g.large",
    "c7g.xlarge",
    "c7g.2xlarge",
    "r7g.large",
    "r7g.xlarge",
    "m7i.large",
    "m7i.xlarge",
    "m7i.2xlarge",
    "m6i.large",
    "m6i.xlarge",
    "m6i.2xlarge",
    "c6i.large",
    "c6i.xlarge",
    "r6i.large",
    "r6i.xlarge",
]
RdsInstanceClass = Literal[
    "db.t4g.medium",
    "db.m7g.large",
    "db.m7g.xlarge",
    "db.m7g.2xlarge",
    "db.r7g.large",
    "db.r7g.xlarge",
    "db.r7g.2xlarge",
]
CacheNodeType = Literal[
    "cache.t4g.small",
    "cache.t4g.medium",
    "cache.m7g.large",
    "cache.m7g.xlarge",
    "cache.r7g.large",
    "cache.r7g.xlarge",
]
MqInstanceType = Literal["mq.m7g.medium", "mq.m7g.large", "mq.m7g.xlarge", "mq.m5.large"]
# The values CloudWatch Logs accepts for retention.
LogRetentionDays = Literal[30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653]
ServiceMode = Literal["managed", "in-cluster"]

ROLE_ARN = re.compile(r"^arn:aws:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
TAG_VALUE = re.compile(r"^[A-Za-z0-9_ .:/=+@-]{1,256}$")

NameLabel = Annotated[str, Field(pattern=DNS_LABEL.pattern, max_length=30)]
TagValue = Annotated[str, Field(pattern=TAG_VALUE.pattern)]


class _Model(BaseModel):
    # camelCase keys in Pulumi.<stack>.yaml, like orgo:platform.
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class Tags(_Model):
    """Put on every taggable resource; `environment` also turns on the prod guard rails."""

    project: NameLabel = "orgo"
    environment: Literal["prod", "staging", "dev"]
    owner: TagValue
    cost_centre: TagValue


class Network(_Model):
    vpc_cidr: IPv4Network
    availability_zones: list[str] = Field(min_length=2, max_length=3)
    public_subnet_cidrs: list[IPv4Network]
    private_subnet_cidrs: list[IPv4Network]
    # per_az: one NAT gateway per zone (a zone outage keeps egress); single: one for all.
    nat: Literal["per_az", "single"] = "per_az"
    flow_log_retention_days: LogRetentionDays = 90

    @model_validator(mode="after")
    def _subnets_fit(self) -> Self:
        zones = len(self.availability_zones)
        if len(set(self.availability_zones)) != zones:
            raise ValueError("network.availabilityZones: zones must be distinct")
        named = [
            *(("publicSubnetCidrs", i, c) for i, c in enumerate(self.public_subnet_cidrs)),
            *(("privateSubnetCidrs", i, c) for i, c in enumerate(self.private_subnet_cidrs)),
        ]
        for key, cidrs in (
            ("publicSubnetCidrs", self.public_subnet_cidrs),
            ("privateSubnetCidrs", self.private_subnet_cidrs),
        ):
            if len(cidrs) != zones:
                raise ValueError(
                    f"network.{key}: one CIDR per availability zone is allowed "
                    f"({zones} zones), got {len(cidrs)}"
                )
        for key, index, cidr in named:
            if not cidr.subnet_of(self.vpc_cidr):
                raise ValueError(
                    f"network.{key}[{index}]: {cidr} is outside network.vpcCidr {self.vpc_cidr}"
                )
        for (key_a, i, a), (key_b, j, b) in combinations(named, 2):
            if a.overlaps(b):
                raise ValueError(
                    f"network.{key_b}[{j}]: {b} overlaps network.{key_a}[{i}] {a}; "
                    "subnet CIDRs must be disjoint"
                )
        return self


class NodeGroup(_Model):
    instance_types: list[NodeInstanceType] = Field(min_length=1)
    min_size: int = Field(ge=1, le=100)
    desired_size: int = Field(ge=1, le=100)
    max_size: int = Field(ge=1, le=100)
    disk_gib: int = Field(default=50, ge=20, le=1000)

    @property
    def architecture(self) -> Literal["arm64", "x86_64"]:
        """Graviton families end in `g` (m7g); one node group runs one architecture."""
        return "arm64" if self.instance_types[0].split(".")[0].endswith("g") else "x86_64"

    @model_validator(mode="after")
    def _one_architecture(self) -> Self:
        mixed = {t for t in self.instance_types if t.split(".")[0].endswith("g")}
        if mixed and len(mixed) != len(self.instance_types):
            raise ValueError(
                "instanceTypes: all Graviton (…g.*) or all x86; "
                f"got {', '.join(self.instance_types)}"
            )
        return self

    @model_validator(mode="after")
    def _sizes_ordered(self) -> Self:
        if not self.min_size <= self.desired_size <= self.max_size:
            raise ValueError(
                f"minSize <= desiredSize <= maxSize is required, got {self.min_size} <= "
                f"{self.desired_size} <= {self.max_size}"
            )
        return self


class SystemNodeGroup(NodeGroup):
    """Add-ons, operators and monitoring: always on-demand."""

    instance_types: list[NodeInstanceType] = Field(default=["m7g.large"], min_length=1)
    min_size: int = Field(default=3, ge=1, le=100)
    desired_size: int = Field(default=3, ge=1, le=100)
    max_size: int = Field(default=6, ge=1, le=100)


class WorkloadNodeGroup(NodeGroup):
    """The app and the in-cluster data services; spot by default with several types."""

    capacity: Literal["on_demand", "spot"] = "spot"
    instance_types: list[NodeInstanceType] = Field(
        default=["m7g.xlarge", "m7g.2xlarge", "c7g.2xlarge"], min_length=1
    )
    min_size: int = Field(default=3, ge=1, le=100)
    desired_size: int = Field(default=3, ge=1, le=100)
    max_size: int = Field(default=12, ge=1, le=100)


class Eks(_Model):
    version: str = Field(default_factory=lambda: aws_pins().eks_version)
    # Who may reach the public API endpoint; empty = private endpoint only.
    public_endpoint_cidrs: list[IPv4Network] = []
    # STANDARD: at the end of a version's standard support AWS upgrades the control plane
    # itself (no extra cost). EXTENDED: it stays on the version 12 more months, at the
    # extended-support price per cluster hour. docs/aws.md has the upgrade procedure.
    support_type: Literal["STANDARD", "EXTENDED"] = "STANDARD"
    # Cluster admins (access entries, AmazonEKSClusterAdminPolicy). `pulumi up` reaches the
    # cluster with the credentials it runs with, so those must be one of these roles.
    admin_role_arns: list[str] = Field(min_length=1)
    # Read-only roles (AmazonEKSViewPolicy), e.g. the CI role that runs `pulumi preview`.
    view_role_arns: list[str] = []
    log_retention_days: LogRetentionDays = 90
    system_nodes: SystemNodeGroup = SystemNodeGroup()
    workload_nodes: WorkloadNodeGroup = WorkloadNodeGroup()

    @field_validator("version")
    @classmethod
    def _pinned_version(cls, version: str) -> str:
        pinned = aws_pins().eks_version
        if version != pinned:
            raise ValueError(
                f"allowed: {pinned!r} (the version whose add-ons versions.yaml pins); "
                "bump aws.eks_version and aws.eks_addons there together"
            )
        return version

    @field_validator("public_endpoint_cidrs")
    @classmethod
    def _not_open_to_all(cls, cidrs: list[IPv4Network]) -> list[IPv4Network]:
        for cidr in cidrs:
            if cidr.prefixlen < 8:
                raise ValueError(f"{cidr} is too wide: allowed are networks of /8 or narrower")
        return cidrs

    @field_validator("admin_role_arns", "view_role_arns")
    @classmethod
    def _role_arns(cls, arns: list[str]) -> list[str]:
        for arn in arns:
            if not ROLE_ARN.match(arn):
                raise ValueError(
                    f"{arn!r} is not an IAM role ARN (arn:aws:iam::<12 digits>:role/…)"
                )
        return arns

    @model_validator(mode="after")
    def _one_access_level_per_role(self) -> Self:
        both = sorted(set(self.admin_role_arns) & set(self.view_role_arns))
        if both:
            raise ValueError(
                f"eks.viewRoleArns: {', '.join(both)} is already in eks.adminRoleArns;"
                " a role gets one access entry: admin or view"
            )
        return self


class Postgres(_Model):
    mode: ServiceMode = "managed"
    instance_class: RdsInstanceClass = "db.m7g.large"
    allocated_storage_gib: int = Field(default=50, ge=20, le=16384)
    max_allocated_storage_gib: int = Field(default=500, ge=20, le=16384)
    multi_az: bool = True

    @model_validator(mode="after")
    def _storage_can_grow(self) -> Self:
        if self.max_allocated_storage_gib < self.allocated_storage_gib:
            raise ValueError("maxAllocatedStorageGib must be >= allocatedStorageGib")
        return self


class Redis(_Model):
    mode: ServiceMode = "managed"
    node_type: CacheNodeType = "cache.m7g.large"
    # Replicas besides the primary, each in another zone; >= 1 gives Multi-AZ failover.
    replicas: int = Field(default=1, ge=0, le=5)


class Rabbitmq(_Model):
    mode: ServiceMode = "managed"
    instance_type: MqInstanceType = "mq.m7g.large"
    # cluster: three brokers across zones behind one endpoint; single: one broker.
    deployment: Literal["cluster", "single"] = "cluster"


class Services(_Model):
    """Per service: an AWS managed service, or its in-cluster counterpart."""

    postgres: Postgres = Postgres()
    redis: Redis = Redis()
    rabbitmq: Rabbitmq = Rabbitmq()


class Protection(_Model):
    deletion_protection: bool = True
    # RDS automated backups and ElastiCache snapshots (days).
    backup_retention_days: int = Field(default=14, ge=1, le=35)


class Storage(_Model):
    # Objects in the backup bucket are deleted after this many days.
    backup_expiry_days: int = Field(default=90, ge=7, le=3650)
    # Overwritten or deleted versions are kept this long in both buckets.
    noncurrent_version_days: int = Field(default=30, ge=1, le=365)


class ServiceAccountRef(_Model):
    namespace: NameLabel
    name: Annotated[str, Field(pattern=DNS_LABEL.pattern)]


class WorkloadIdentities(_Model):
    """Kubernetes service accounts given the app's role through EKS Pod Identity. The
    backup roles go to the accounts the platform itself creates (infra.aws.storage)."""

    # The Orgo chart's service account (named after the release).
    app: list[ServiceAccountRef] = [ServiceAccountRef(namespace="orgo", name="orgo")]


class Cdn(_Model):
    """The web UI on CloudFront (infra.aws.cdn): its files from a private S3 bucket, the
    API's paths from the Gateway at `orgo:platform.domain`, all under `hostname`."""

    enabled: bool = False
    # The UI's own name (not the Gateway's domain, which stays the API origin).
    hostname: Hostname | None = None
    # The Route 53 public zone holding `hostname`: the certificate's validation record
    # and the alias to the distribution go there.
    hosted_zone_id: Annotated[str, Field(pattern=r"^Z[A-Z0-9]{1,32}$")] | None = None

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> Self:
        if not self.enabled:
            return self
        missing = [
            key
            for key, value in (("hostname", self.hostname), ("hostedZoneId", self.hosted_zone_id))
            if value is None
        ]
        if missing:
            raise ValueError(f"cdn.{' and cdn.'.join(missing)}: required when cdn.enabled is true")
        return self


class AwsConfig(_Model):
    # The account the stack may touch; the provider refuses any other credentials.
    account_id: Annotated[str, Field(pattern=r"^\d{12}$")]
    region: Region
    tags: Tags
    network: Network
    eks: Eks
    services: Services = Services()
    protection: Protection = Protection()
    storage: Storage = Storage()
    identities: WorkloadIdentities = WorkloadIdentities()
    cdn: Cdn = Cdn()

    @property
    def name(self) -> str:
        """Prefix of physical names (cluster, buckets, DB identifiers)."""
        return f"{self.tags.project}-{self.tags.environment}"

    @model_validator(mode="after")
    def _zones_in_region(self) -> Self:
        for index, zone in enumerate(self.network.availability_zones):
            if not re.fullmatch(rf"{self.region}[a-f]", zone):
                raise ValueError(
                    f"network.availabilityZones[{index}]: {zone!r} is not a zone of region "
                    f"{self.region!r} (allowed: {self.region}a … {self.region}f)"
                )
        return self

    @model_validator(mode="after")
    def _prod_guard_rails(self) -> Self:
        if self.tags.environment != "prod":
            return self
        if not self.protection.deletion_protection:
            raise ValueError(
                "protection.deletionProtection: must be true when tags.environment=prod"
            )
        if self.protection.backup_retention_days < 7:
            raise ValueError(
                "protection.backupRetentionDays: at least 7 is allowed when tags.environment=prod"
            )
        return self
