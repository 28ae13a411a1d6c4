"""The platform: one component per capability, wired together. Stack config decides sizes;
services the cloud layer provides (ExternalServices) replace their in-cluster counterpart."""

from __future__ import annotations

from urllib.parse import quote

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.components.edge import Edge, EdgeArgs
from infra.components.elastic import Elastic, ElasticArgs
from infra.components.monitoring import Monitoring, MonitoringArgs
from infra.components.orgo import NAMESPACE as ORGO_NAMESPACE
from infra.components.orgo import Endpoint, Orgo, OrgoArgs
from infra.components.postgres import Postgres, PostgresArgs
from infra.components.rabbitmq import Rabbitmq, RabbitmqArgs
from infra.components.redis import Redis, RedisArgs
from infra.config import PlatformConfig, StackConfig
from infra.external import ExternalServices

MONITORING = "monitoring"
CLIENTS = (ORGO_NAMESPACE, MONITORING)  # namespaces allowed into the data services
_SECRET_HOWTO = "kubectl -n {ns} get secret {name} -o jsonpath='{{.data.{key}}}' | base64 -d"  # noqa: S105
CREDENTIALS_HOWTO = {
    "grafana": _SECRET_HOWTO.format(ns="monitoring", name="grafana-admin", key="admin-password"),
    "kibana": _SECRET_HOWTO.format(ns="elastic", name="orgo-es-elastic-user", key="elastic"),
    "orgoEnv": "kubectl -n orgo get secret orgo-env -o yaml",
}


def deploy(cfg: StackConfig, external: ExternalServices | None = None) -> None:
    """The whole platform. `external`: services provided outside the cluster (tests and
    other cloud layers); for AWS stacks the foundation provides them and the provider."""
    provider: k8s.Provider | None = None
    if cfg.aws is not None:
        from infra.aws.foundation import AwsFoundation

        foundation = AwsFoundation("orgo", cfg.aws, cfg.platform)
        provider, external = foundation.kubernetes_provider, foundation.external_services
    external = external or ExternalServices()
    opts = pulumi.ResourceOptions(provider=provider)
    platform = cfg.platform
    Edge(
        "edge",
        EdgeArgs(
            platform.edge,
            platform.domain,
            (ORGO_NAMESPACE, MONITORING, "elastic"),
            external.load_balancer_security_group,
            _load_balancer_tags(cfg),
        ),
        opts,
    )
    domain = platform.domain
    Monitoring(
        "monitoring",
        MonitoringArgs(platform.monitoring, f"grafana.{domain}", platform.storage_class),
        opts,
    )
    if platform.elastic.enabled:
        Elastic(
            "elastic",
            ElasticArgs(platform.elastic, f"kibana.{domain}", platform.storage_class),
            opts,
        )
    orgo = Orgo(
        "orgo",
        OrgoArgs(
            platform=platform,
            postgres=_postgres(platform, external, opts),
            redis=_redis(platform, external, opts),
            rabbitmq=_rabbitmq(platform, external, opts),
            monitoring_namespace=MONITORING,
        ),
        opts,
    )
    pulumi.export("apiUrl", orgo.url)
    pulumi.export("grafanaUrl", f"https://grafana.{platform.domain}")
    if platform.elastic.enabled:
        pulumi.export("kibanaUrl", f"https://kibana.{platform.domain}")
    pulumi.export("credentials", CREDENTIALS_HOWTO)


def _load_balancer_tags(cfg: StackConfig) -> dict[str, str] | None:
    """On AWS, the tags of the Gateway's NLB (the cloud controller creates it)."""
    if cfg.aws is None:
        return None
    from infra.aws.tags import resource_tags

    return resource_tags(cfg.aws.tags, "orgo-gateway")


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
) -> Endpoint:
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
        return Endpoint("postgres", url, 5432, None)
    password = _password("postgres-app-password")
    pg = Postgres(
        "postgres",
        PostgresArgs(platform.postgres, password, CLIENTS, platform.storage_class),
        opts,
    )
    url = _url(template, password, user=pg.username, host=pg.host, port=pg.port, db=pg.database)
    return Endpoint("postgres", url, pg.port, "postgres")


def _redis(
    platform: PlatformConfig, external: ExternalServices, opts: pulumi.ResourceOptions
) -> Endpoint:
    if external.redis is not None:
        ext = external.redis
        scheme = "rediss" if ext.tls else "redis"
        url = _url(
            scheme + "://:{password}@{host}:{port}/0", ext.password, host=ext.host, port=ext.port
        )
        return Endpoint("redis", url, 6379, None)
    password = _password("redis-password")
    redis = Redis(
        "redis", RedisArgs(platform.redis, password, CLIENTS, platform.storage_class), opts
    )
    url = _url("redis://:{password}@{host}:{port}/0", password, host=redis.host, port=redis.port)
    return Endpoint("redis", url, redis.port, "redis")


def _rabbitmq(
    platform: PlatformConfig, external: ExternalServices, opts: pulumi.ResourceOptions
) -> Endpoint:
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
        return Endpoint("rabbitmq", url, 5671 if ext.tls else 5672, None)
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
    return Endpoint("rabbitmq", url, mq.port, "rabbitmq")
