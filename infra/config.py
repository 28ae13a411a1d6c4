"""Typed stack configuration: `orgo:platform` (this module) and `orgo:aws` (infra.aws.config).

Everything is validated before the first resource is declared; an error names the key
(`orgo:platform.postgres.instances`) and what is allowed. Components receive these typed
models, never raw `pulumi.Config`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

import pulumi
from pulumi.runtime import config as config_values
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

from infra import artefacts
from infra.versions import versions

if TYPE_CHECKING:
    from infra.aws.config import AwsConfig
    from infra.versions import ImagePin

CONFIG_NAMESPACE = "orgo"

# Kubernetes quantities we accept: CPU as millicores ("250m") or cores ("1", "1.5"), memory
# and storage in binary units. Narrower than Kubernetes on purpose: one spelling per size.
Cpu = Annotated[str, Field(pattern=r"^([1-9][0-9]*m|[0-9]+(\.[0-9]+)?)$")]
Memory = Annotated[str, Field(pattern=r"^[1-9][0-9]*(Mi|Gi)$")]
Storage = Annotated[str, Field(pattern=r"^[1-9][0-9]*(Mi|Gi|Ti)$")]
Duration = Annotated[str, Field(pattern=r"^[1-9][0-9]*(h|d|w)$")]


def _not_latest(tag: str) -> str:
    if tag == "latest":
        raise ValueError("a moving tag like 'latest' is not allowed: pin a version")
    return tag


ImageTag = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"), AfterValidator(_not_latest)
]
# A registry path as the chart's schema accepts it: lowercase, optional host[:port].
ImageRepository = Annotated[str, Field(pattern=r"^[a-z0-9]+([._/:-][a-z0-9]+)*$")]
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def _digest(digest: str) -> str:
    if not _DIGEST.match(digest):
        raise ValueError(
            f"{digest!r} is not an image digest: allowed is sha256:<64 lowercase hex digits>"
            " (the digest the image workflow prints)"
        )
    return digest


ImageDigest = Annotated[str, AfterValidator(_digest)]
Hostname = Annotated[
    str, Field(pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
]


def _inside_project(path: str) -> str:
    if ".." in path.split("/"):
        raise ValueError("a directory inside the project: no '..'")
    return path


# Relative to the project root (where `pulumi up` runs); the pattern refuses a leading '/'.
RelativePath = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$"), AfterValidator(_inside_project)
]


def _not_everything(network: IPvAnyNetwork) -> IPvAnyNetwork:
    if network.prefixlen == 0:
        raise ValueError("a /0 network would trust every client: name the cluster's pod network")
    return network


# A network whose connections the API trusts to say who the client is (X-Forwarded-For).
TrustedNetwork = Annotated[IPvAnyNetwork, AfterValidator(_not_everything)]
# kind's (and kubeadm + flannel's) pod network, the default of any-cluster stacks.
KIND_POD_CIDR = "10.244.0.0/16"
# The app's own default (ORGO_MAX_BODY_BYTES): 1 MiB, as nginx's on the hosts.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class ConfigError(ValueError):
    """The stack configuration is invalid; the message lists every bad key."""


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class Resources(_Model):
    """Requests of one container; limits equal requests for memory, twice for CPU."""

    cpu: Cpu
    memory: Memory


class ImageConfig(_Model):
    """The app image; unset parts come from versions.yaml `images.orgo`. With a digest the
    pods run `repository:tag@digest`: the digest decides, the tag only names it."""

    repository: ImageRepository | None = None
    tag: ImageTag | None = None
    digest: ImageDigest | None = None

    def chart_values(self, default: ImagePin) -> dict[str, str]:
        """The chart's `image` repository, tag and (when set) digest over `default`. The
        pinned digest belongs to the pinned image: it applies only where the stack keeps
        both its repository and its tag."""
        values = {
            "repository": self.repository or default.repository,
            "tag": self.tag or default.tag,
        }
        pinned = default.digest if not (self.repository or self.tag) else None
        digest = self.digest or pinned
        return values | ({"digest": digest} if digest else {})


class OrgoConfig(_Model):
    image: ImageConfig = ImageConfig()
    api_replicas: int = Field(default=1, ge=1, le=20)
    api_max_replicas: int = Field(default=1, ge=1, le=50)  # > apiReplicas enables the HPA
    worker_replicas: int = Field(default=1, ge=1, le=20)
    web_concurrency: int = Field(default=1, ge=1, le=16)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    api_resources: Resources = Resources(cpu="100m", memory="256Mi")
    worker_resources: Resources = Resources(cpu="100m", memory="256Mi")
    # Largest request body, enforced by the app and, before it, by the Gateway (1 KiB-64 MiB).
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1024, le=64 * 1024 * 1024)
    # OpenAPI docs (/docs, /openapi.json) served and routed.
    docs_enabled: bool = False

    @model_validator(mode="after")
    def _max_not_below_min(self) -> OrgoConfig:
        if self.api_max_replicas < self.api_replicas:
            raise ValueError("apiMaxReplicas must be >= apiReplicas")
        return self


class BackupConfig(_Model):
    """CloudNativePG base backups + WAL archive to S3-compatible storage."""

    destination_path: Annotated[str, Field(pattern=r"^s3://[a-z0-9][a-z0-9.-]+(/.*)?$")]
    endpoint_url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    retention: Annotated[str, Field(pattern=r"^[1-9][0-9]*[dwm]$")] = "30d"
    # Six-field cron (seconds first), as CloudNativePG's ScheduledBackup expects.
    schedule: str = "0 0 3 * * *"
    # Secret with ACCESS_KEY_ID / ACCESS_SECRET_KEY; None when the pods assume an IAM role.
    credentials_secret: str | None = None


class PostgresConfig(_Model):
    instances: int = Field(default=1, ge=1, le=9)
    storage: Storage = "5Gi"
    resources: Resources = Resources(cpu="250m", memory="512Mi")
    pooler_instances: int = Field(default=1, ge=1, le=5)
    backup: BackupConfig | None = None


class RabbitmqConfig(_Model):
    replicas: Literal[1, 3, 5] = 1
    storage: Storage = "2Gi"
    resources: Resources = Resources(cpu="250m", memory="512Mi")


class RedisConfig(_Model):
    persistence: bool = True
    storage: Storage = "1Gi"
    resources: Resources = Resources(cpu="100m", memory="256Mi")


class ElasticConfig(_Model):
    enabled: bool = True
    elasticsearch_nodes: int = Field(default=1, ge=1, le=9)
    storage: Storage = "10Gi"
    elasticsearch_resources: Resources = Resources(cpu="500m", memory="2Gi")
    kibana_replicas: int = Field(default=1, ge=1, le=5)
    kibana_resources: Resources = Resources(cpu="200m", memory="1Gi")


class SlackReceiver(_Model):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    channel: Annotated[str, Field(pattern=r"^#[a-z0-9_-]+$")]
    # Name of a Pulumi *secret* config key in namespace `orgo` holding the webhook URL.
    webhook_url_secret: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9]*$")]


class MonitoringConfig(_Model):
    prometheus_replicas: int = Field(default=1, ge=1, le=3)
    retention: Duration = "3d"
    storage: Storage = "10Gi"
    prometheus_resources: Resources = Resources(cpu="250m", memory="1Gi")
    alertmanager_replicas: Literal[1, 3] = 1
    grafana_replicas: int = Field(default=1, ge=1, le=3)
    receivers: tuple[SlackReceiver, ...] = ()


class AcmeConfig(_Model):
    """How the ACME server's challenge is answered: HTTP-01 on the Gateway's port 80, or
    DNS-01 with TXT records in a Route 53 hosted zone (no port 80 needed)."""

    solver: Literal["http01", "route53"] = "http01"
    hosted_zone_id: Annotated[str, Field(pattern=r"^Z[A-Z0-9]{4,31}$")] | None = None
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-[1-9]$")] | None = None

    @model_validator(mode="after")
    def _zone_only_for_route53(self) -> AcmeConfig:
        route53 = self.solver == "route53"
        given = self.hosted_zone_id is not None and self.region is not None
        if route53 and not given:
            raise ValueError("solver 'route53' requires hostedZoneId and region")
        if not route53 and (self.hosted_zone_id or self.region):
            raise ValueError("hostedZoneId and region are allowed only with solver 'route53'")
        return self


class EdgeConfig(_Model):
    issuer: Literal["selfsigned", "acme"] = "selfsigned"
    acme_email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    acme_server: Annotated[str, Field(pattern=r"^https://")] = (
        "https://acme-v02.api.letsencrypt.org/directory"
    )
    acme: AcmeConfig = AcmeConfig()
    gateway_replicas: int = Field(default=1, ge=1, le=5)
    # Client networks that may reach Grafana and Kibana through the Gateway (a
    # SecurityPolicy allow-list); empty: no route to them at all (kubectl port-forward).
    admin_cidrs: tuple[IPvAnyNetwork, ...] = ()

    @model_validator(mode="after")
    def _acme_needs_email(self) -> EdgeConfig:
        if self.issuer == "acme" and self.acme_email is None:
            raise ValueError("issuer 'acme' requires acmeEmail")
        return self


class MetricsServerConfig(_Model):
    """metrics-server from its chart, for the HPA: on clusters without one (kind; k3d/k3s
    and managed clusters bring their own, EKS as an add-on)."""

    enabled: bool = False
    # Skip verifying the kubelets' serving certificates: only for kind (self-signed).
    kubelet_insecure_tls: bool = False


class PlatformConfig(_Model):
    environment: Literal["dev", "staging", "prod"]
    domain: Hostname
    # Kubernetes minor the stack targets (charts render for it); within versions.yaml's
    # supported range on any cluster (the EKS version pin decides on AWS stacks).
    kubernetes_version: Annotated[str, Field(pattern=r"^1\.[0-9]{2}$")] = Field(
        default_factory=lambda: versions().kubernetes.default
    )
    storage_class: str | None = None  # None: the cluster's default StorageClass
    # Folder laid out like the offline chart mirror (index.json + files), relative to the
    # project root or absolute; None: download from upstream. ORGO_CHART_MIRROR overrides.
    chart_mirror: Annotated[str, Field(pattern=r"^\S+$")] | None = None
    metrics_server: MetricsServerConfig = MetricsServerConfig()
    # Set: `pulumi up` writes the manifests here instead of applying them (docs/gitops.md).
    render_yaml_to_directory: RelativePath | None = None
    # The cluster's pod network(s): the API trusts X-Forwarded-For only from connections
    # out of them (the Envoy proxies). None: KIND_POD_CIDR, or on AWS the VPC's CIDR (the
    # VPC CNI gives pods VPC addresses).
    pod_cidrs: tuple[TrustedNetwork, ...] | None = Field(default=None, min_length=1)
    orgo: OrgoConfig = OrgoConfig()
    postgres: PostgresConfig = PostgresConfig()
    rabbitmq: RabbitmqConfig = RabbitmqConfig()
    redis: RedisConfig = RedisConfig()
    elastic: ElasticConfig = ElasticConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    edge: EdgeConfig = EdgeConfig()


@dataclass(frozen=True)
class StackConfig:
    platform: PlatformConfig
    aws: AwsConfig | None


def _describe(error: Mapping[str, Any], model: type[BaseModel], key: str) -> str:
    where = ".".join([key, *(str(part) for part in error["loc"])])
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        message += f" (allowed keys: {', '.join(_allowed_keys(model, error['loc'][:-1]))})"
    return f"{where}: {message}"


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The camelCase keys accepted at `loc` inside `model`, for an 'unknown key' error."""
    current: type[BaseModel] = model
    for part in loc:
        field = next(
            (f for name, f in current.model_fields.items() if part in (name, f.alias)), None
        )
        annotation = field.annotation if field else None
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            return []
        current = nested[0]
    return sorted(f.alias or name for name, f in current.model_fields.items())


def _validate(model: type[BaseModel], raw: object, key: str) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        lines = [_describe(e, model, key) for e in exc.errors()]
        raise ConfigError("invalid stack config:\n  " + "\n  ".join(lines)) from None


def parse_stack_config(raw: Mapping[str, Any]) -> StackConfig:
    """Validates plain config values, keyed without the `orgo:` namespace
    (`{"platform": {...}, "aws": {...}, <secret key>: ...}`), no Pulumi needed."""
    if raw.get("platform") is None:
        raise ConfigError("invalid stack config: orgo:platform is required")
    platform = _validate(PlatformConfig, raw["platform"], f"{CONFIG_NAMESPACE}:platform")
    _refuse_unknown_keys(raw, platform)
    aws_raw = raw.get("aws")
    if aws_raw is None:
        _refuse_unsupported_kubernetes(platform)
        return StackConfig(platform=platform, aws=None)
    if platform.render_yaml_to_directory is not None:
        raise ConfigError(
            "invalid stack config: orgo:platform.renderYamlToDirectory is for stacks on an"
            " existing cluster (allowed only without orgo:aws)"
        )
    # Imported only for AWS stacks: any-cluster stacks never load the AWS layer.
    from infra.aws.config import AwsConfig

    aws = _validate(AwsConfig, aws_raw, f"{CONFIG_NAMESPACE}:aws")
    return StackConfig(platform=platform, aws=aws)


def _refuse_unsupported_kubernetes(platform: PlatformConfig) -> None:
    supported = versions().kubernetes
    if not supported.covers(platform.kubernetes_version):
        raise ConfigError(
            f"invalid stack config:\n  {CONFIG_NAMESPACE}:platform.kubernetesVersion:"
            f" {platform.kubernetes_version} is outside the supported range {supported}"
            " (versions.yaml kubernetes:)"
        )


def _refuse_unknown_keys(raw: Mapping[str, Any], platform: PlatformConfig) -> None:
    """Besides platform and aws, only the secret keys the Alertmanager receivers name."""
    secrets = {r.webhook_url_secret for r in platform.monitoring.receivers}
    allowed = ["platform", "aws", *sorted(secrets)]
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise ConfigError(
            f"invalid stack config: unknown key(s) {', '.join(f'orgo:{k}' for k in unknown)}"
            f" (allowed: {', '.join(f'orgo:{k}' for k in allowed)})"
        )


def _stack_keys() -> list[str]:
    """Every `orgo:` key the stack sets, without the namespace (values stay unread)."""
    given = {*config_values.CONFIG.get(), *config_values.get_config_env()}
    prefix = f"{CONFIG_NAMESPACE}:"
    return sorted(k.removeprefix(prefix) for k in given if k.startswith(prefix))


def load_stack_config() -> StackConfig:
    """Reads the stack's `orgo:` keys (`platform`, `aws`, receiver secrets), validates them
    and resolves every pinned chart and manifest (infra.artefacts): a bad key or a missing
    artefact stops the program before it declares any resource."""
    config = pulumi.Config(CONFIG_NAMESPACE)
    raw: dict[str, Any] = dict.fromkeys(_stack_keys())
    raw.update(platform=config.get_object("platform"), aws=config.get_object("aws"))
    stack = parse_stack_config(raw)
    artefacts.prepare(stack.platform.chart_mirror)
    return stack
