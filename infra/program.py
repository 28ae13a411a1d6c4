"""The platform: one component per capability, wired together. Stack config decides sizes;
services the cloud layer provides (ExternalServices) replace their in-cluster counterpart."""

from __future__ import annotations

from urllib.parse import quote

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.components.edge import AdminAccess, Edge, EdgeArgs, admin_access
from infra.components.elastic import Elastic, ElasticArgs, SnapshotTarget
from infra.components.metrics_server import MetricsServer, MetricsServerArgs
from infra.components.monitoring import Monitoring, MonitoringArgs
from infra.components.orgo import NAMESPACE as ORGO_NAMESPACE
from infra.components.orgo import Endpoint, Orgo, OrgoArgs
from infra.components.postgres import Postgres, PostgresArgs
from infra.components.rabbitmq import Rabbitmq, RabbitmqArgs
from infra.components.redis import Redis, RedisArgs
from infra.config import KIND_POD_CIDR, BackupConfig, PlatformConfig, StackConfig
from infra.external import ExternalServices

MONITORING = "monitoring"
CLIENTS = (ORGO_NAMESPACE, MONITORING)  # namespaces allowed into the data services
_SECRET_HOWTO = "kubectl -n {ns} get secret {name} -o jsonpath='{{.data.{key}}}' | base64 -d"  # noqa: S105
# How to reach Grafana / Kibana without a route to them (no edge.adminCidrs).
_PORT_FORWARD = (
    "kubectl -n {ns} port-forward svc/{service} {port}, then {scheme}://127.0.0.1:{local}"
)
PORT_FORWARDS = {
    "grafana": _PORT_FORWARD.format(
        ns="monitoring", service="monitoring-grafana", port="3000:80", scheme="http", local=3000
    ),
    "kibana": _PORT_FORWARD.format(
        ns="elastic", service="orgo-kb-http", port="5601", scheme="http", local=5601
    ),
}
CREDENTIALS_HOWTO = {
    "grafana": _SECRET_HOWTO.format(ns="monitoring", name="grafana-admin", key="admin-password"),
    "kibana": _SECRET_HOWTO.format(ns="elastic", name="orgo-es-elastic-user", key="elastic"),
    "orgoEnv": "kubectl -n orgo get secret orgo-env -o yaml",
}
# A data service's endpoint, and its component when it runs in the cluster.
InCluster = tuple[Endpoint, pulumi.ComponentResource | None]


def deploy(cfg: StackConfig, external: ExternalServices | None = None) -> None:
    """The whole platform. `external`: services provided outside the cluster (tests and
    other cloud layers); for AWS stacks the foundation provides them and the provider."""
    provider, external = _kubernetes(cfg, external)
    opts = pulumi.ResourceOptions(provider=provider)
    platform = cfg.platform
    domain = platform.domain
    # Order on an empty cluster: Edge installs cert-manager (the RabbitMQ topology
    # operator's webhook certificate) and the Gateway API CRDs (HTTPRoute), Monitoring the
    # Prometheus Operator CRDs (ServiceMonitor, PodMonitor, PrometheusRule) after Edge.
    # Orgo's migrate Job needs its in-cluster data services up.
    edge = Edge(
        "edge",
        EdgeArgs(
            platform.edge,
            domain,
            (ORGO_NAMESPACE, MONITORING, "elastic"),
            external.load_balancer_security_group,
            _load_balancer_tags(cfg),
            behind_cloudfront=cfg.aws is not None and cfg.aws.cdn.enabled,
        ),
        opts,
    )
    if platform.metrics_server.enabled:
        MetricsServer("metrics-server", MetricsServerArgs(platform.metrics_server), opts)
    grafana = admin_access("grafana", domain, platform.edge)
    kibana = admin_access("kibana", domain, platform.edge)
    monitoring = Monitoring(
        "monitoring",
        MonitoringArgs(platform.monitoring, grafana, platform.environment, platform.storage_class),
        _after(opts, edge),
    )
    if platform.elastic.enabled:
        Elastic(
            "elastic",
            ElasticArgs(
                platform.elastic,
                kibana,
                platform.storage_class,
                _snapshot_target(external),
            ),
            _after(opts, edge),
        )
    # The data services declare PodMonitors / ServiceMonitors (and RabbitMQ's topology
    # operator needs cert-manager, installed before Monitoring).
    data_opts = _after(opts, monitoring)
    postgres, pg = _postgres(_with_aws_backups(cfg), external, data_opts)
    redis, cache = _redis(platform, external, data_opts)
    rabbitmq, mq = _rabbitmq(platform, external, data_opts)
    in_cluster = [c for c in (pg, cache, mq) if c is not None]
    orgo = Orgo(
        "orgo",
        OrgoArgs(
            platform=platform,
            postgres=postgres,
            redis=redis,
            rabbitmq=rabbitmq,
            monitoring_namespace=MONITORING,
            trusted_proxies=pod_networks(cfg),
            # The AWS layer's managed services sit in the VPC's private subnets.
            external_network=str(cfg.aws.network.vpc_cidr) if cfg.aws else None,
        ),
        _after(opts, monitoring, *in_cluster),
    )
    pulumi.export("apiUrl", orgo.url)
    pulumi.export("grafanaUrl", _admin_url("grafana", grafana))
    if platform.elastic.enabled:
        pulumi.export("kibanaUrl", _admin_url("kibana", kibana))
    pulumi.export("credentials", CREDENTIALS_HOWTO)


def _admin_url(app: str, access: AdminAccess) -> str:
    """Its URL when routed (to the allowed clients), else how to port-forward to it."""
    return f"https://{access.hostname}" if access.client_cidrs else PORT_FORWARDS[app]


def pod_networks(cfg: StackConfig) -> tuple[str, ...]:
    """The cluster's pod network(s): `podCidrs`, else the VPC's CIDR on AWS (the VPC CNI
    gives pods addresses of the VPC's subnets), else kind's default."""
    if cfg.platform.pod_cidrs is not None:
        return tuple(str(network) for network in cfg.platform.pod_cidrs)
    if cfg.aws is not None:
        return (str(cfg.aws.network.vpc_cidr),)
    return (KIND_POD_CIDR,)


def _load_balancer_tags(cfg: StackConfig) -> dict[str, str] | None:
    """On AWS, the tags of the Gateway's NLB (the cloud controller creates it)."""
    if cfg.aws is None:
        return None
    from infra.aws.tags import resource_tags

    return resource_tags(cfg.aws.tags, "orgo-gateway")


def _kubernetes(
    cfg: StackConfig, external: ExternalServices | None
) -> tuple[k8s.Provider | None, ExternalServices]:
    """The provider every component uses (None: the ambient kubeconfig) and the services
    from outside the cluster."""
    if cfg.aws is not None:
        from infra.aws.foundation import AwsFoundation

        foundation = AwsFoundation("orgo", cfg.aws, cfg.platform)
        return foundation.kubernetes_provider, foundation.external_services
    external = external or ExternalServices()
    render_dir = cfg.platform.render_yaml_to_directory
    if render_dir is None:
        return None, external
    # GitOps: `pulumi up` writes the manifests to render_dir instead of applying them.
    return k8s.Provider("kubernetes", render_yaml_to_directory=render_dir), external


def _after(opts: pulumi.ResourceOptions, *components: pulumi.Resource) -> pulumi.ResourceOptions:
    """`opts`, waiting until every resource of `components` is ready."""
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(components)))


def _with_aws_backups(cfg: StackConfig) -> PlatformConfig:
    """On AWS, an in-cluster PostgreSQL without a backup of its own backs up to the backup
    bucket's postgres/ prefix, with the role Pod Identity gives its pods."""
    platform = cfg.platform
    if cfg.aws is None or cfg.aws.services.postgres.mode != "in-cluster":
        return platform
    if platform.postgres.backup is not None:
        return platform
    from infra.aws.storage import postgres_backup_destination, postgres_backup_retention

    backup = BackupConfig(
        destination_path=postgres_backup_destination(cfg.aws),
        retention=postgres_backup_retention(cfg.aws),
    )
    postgres = platform.postgres.model_copy(update={"backup": backup})
    return platform.model_copy(update={"postgres": postgres})


def _snapshot_target(external: ExternalServices) -> SnapshotTarget | None:
    """Elasticsearch snapshots go to the cloud layer's backup bucket, when there is one."""
    if external.backup_bucket is None or external.region is None:
        return None
    return SnapshotTarget(external.backup_bucket, external.region)


def _password(name: str) -> pulumi.Output[str]:
    return random.RandomPassword(name, length=32, special=False).result


def _url(
    template: str, password: pulumi.Input[str], **parts: pulumi.Input[object]
) -> pulumi.Output[str]:
    """A connection URL with the password URL-quoted, kept secret."""
    url = pulumi.Output.all(password, pulumi.Output.from_input(parts)).apply(
        lambda pw_parts: template.format(password=quote(str(pw_parts[0]), safe=""), **pw_parts[1])
    )
    return pulumi.Output.secret(url)


def _postgres(
    platform: PlatformConfig, external: ExternalServices, opts: pulumi.ResourceOptions
) -> InCluster:
    template = "postgresql+asyncpg://{user}:{password}@{host}:{port}/{db}"
    if external.postgres is not None:
        ext = external.postgres
        suffix = "?ssl=require" if ext.require_tls else ""
        url = _url(
            template + suffix,
            ext.password,
            user=ext.username,
            host=ext.host,
            port=ext.port,
            db=ext.database,
        )
        return Endpoint("postgres", url, 5432, None), None
    password = _password("postgres-app-password")
    pg = Postgres(
        "postgres",
        PostgresArgs(platform.postgres, password, CLIENTS, platform.storage_class),
        opts,
    )
    url = _url(template, password, user=pg.username, host=pg.host, port=pg.port, db=pg.database)
    return Endpoint("postgres", url, pg.port, "postgres"), pg


def _redis(
    platform: PlatformConfig, external: ExternalServices, opts: pulumi.ResourceOptions
) -> InCluster:
    if external.redis is not None:
        ext = external.redis
        scheme = "rediss" if ext.tls else "redis"
        url = _url(
            scheme + "://:{password}@{host}:{port}/0", ext.password, host=ext.host, port=ext.port
        )
        return Endpoint("redis", url, 6379, None), None
    password = _password("redis-password")
    redis = Redis(
        "redis", RedisArgs(platform.redis, password, CLIENTS, platform.storage_class), opts
    )
    url = _url("redis://:{password}@{host}:{port}/0", password, host=redis.host, port=redis.port)
    return Endpoint("redis", url, redis.port, "redis"), redis


def _rabbitmq(
    platform: PlatformConfig, external: ExternalServices, opts: pulumi.ResourceOptions
) -> InCluster:
    template = "{scheme}://{user}:{password}@{host}:{port}/{vhost}"
    if external.rabbitmq is not None:
        ext = external.rabbitmq
        scheme = "amqps" if ext.tls else "amqp"
        url = _url(
            template,
            ext.password,
            scheme=scheme,
            user=ext.username,
            host=ext.host,
            port=ext.port,
            vhost=ext.vhost,
        )
        return Endpoint("rabbitmq", url, 5671 if ext.tls else 5672, None), None
    password = _password("rabbitmq-app-password")
    mq = Rabbitmq(
        "rabbitmq", RabbitmqArgs(platform.rabbitmq, password, CLIENTS, platform.storage_class), opts
    )
    url = _url(
        template,
        password,
        scheme="amqp",
        user=mq.username,
        host=mq.host,
        port=mq.port,
        vhost=mq.vhost,
    )
    return Endpoint("rabbitmq", url, mq.port, "rabbitmq"), mq
