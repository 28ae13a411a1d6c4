"""Orgo: the local chart (charts/orgo-api) wired to the data services' endpoints, with the
connection URLs and JWT secret in a Secret built from Pulumi secrets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra import observability
from infra.components import edge
from infra.components import k8s as kb
from infra.components.namespace import NamespaceArgs, PlatformNamespace
from infra.components.ordering import child_options, waiting_for
from infra.config import PlatformConfig
from infra.versions import REPO_ROOT, versions

NAMESPACE = "orgo"
RELEASE = "orgo"
ENV_SECRET = "orgo-env"  # noqa: S105 (a Secret's name)
CHART = REPO_ROOT / "charts" / "orgo-api"


@dataclass(frozen=True)
class Endpoint:
    """A data service as the app reaches it; `namespace` None means outside the cluster."""

    name: str
    url: pulumi.Input[str]  # full connection URL with credentials (a Pulumi secret)
    port: int
    namespace: str | None


@dataclass(frozen=True)
class OrgoArgs:
    platform: PlatformConfig
    postgres: Endpoint
    redis: Endpoint
    rabbitmq: Endpoint
    monitoring_namespace: str
    # Where the Envoy proxies connect from (the pod network): the only peers whose
    # X-Forwarded-For the API believes.
    trusted_proxies: tuple[str, ...]
    # Where the data services outside the cluster live (on AWS: the VPC), the only
    # destination of the app's egress to them; None: not known, any address on their port.
    external_network: str | None = None


class Orgo(pulumi.ComponentResource):
    url: pulumi.Output[str]

    def __init__(
        self, name: str, args: OrgoArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("orgo:platform:Orgo", name, None, opts)
        # No namespace-wide allowance for the edge and monitoring namespaces: the chart's
        # policies let them reach exactly the API port and the metrics ports.
        namespace = PlatformNamespace(
            f"{name}-ns", NamespaceArgs(name=NAMESPACE), pulumi.ResourceOptions(parent=self)
        )
        jwt = random.RandomPassword(
            f"{name}-jwt-secret", length=48, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        env = k8s.core.v1.Secret(
            f"{name}-env",
            metadata={"name": ENV_SECRET, "namespace": NAMESPACE},
            string_data={
                "ORGO_DATABASE_URL": args.postgres.url,
                "ORGO_REDIS_URL": args.redis.url,
                "ORGO_AMQP_URL": args.rabbitmq.url,
                "ORGO_JWT_SECRET": jwt.result,
            },
            opts=child_options(self, opts, namespace),
        )
        # Helm v3 Chart renders through an invoke (real `helm template` under the render
        # tool's mocks), so every object of our chart is validated; the resource name is
        # the Helm release name, which names the objects (orgo-api, orgo-worker, ...).
        k8s.helm.v3.Chart(
            RELEASE,
            k8s.helm.v3.LocalChartOpts(
                path=str(CHART),
                namespace=NAMESPACE,
                values=chart_values(args),
                # the chart's objects are its children: they wait for what it waits for
                transformations=[waiting_for(env)],
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[env]),
        )
        self.url = pulumi.Output.from_input(f"https://{args.platform.domain}")
        self.register_outputs({"url": self.url})


def chart_values(args: OrgoArgs) -> Any:
    """The chart's values for this stack: sizes, image pin, routes, policies, monitoring."""
    cfg = args.platform.orgo
    web_image = versions().images["orgo-web"]
    env = args.platform.environment
    image = cfg.image.chart_values(versions().images["orgo"])
    values: dict[str, Any] = {
        "image": {**image, "pullPolicy": "IfNotPresent"},
        "environment": env,
        "logLevel": cfg.log_level,
        "envSecretName": ENV_SECRET,
        "maxBodyBytes": cfg.max_body_bytes,
        "forwardedAllowIps": list(args.trusted_proxies),
        "docs": {"enabled": cfg.docs_enabled},
        "api": {
            "replicas": cfg.api_replicas,
            "webConcurrency": cfg.web_concurrency,
            "resources": kb.resources(cfg.api_resources),
            "autoscaling": {
                "enabled": cfg.api_max_replicas > cfg.api_replicas,
                "minReplicas": cfg.api_replicas,
                "maxReplicas": cfg.api_max_replicas,
                "targetCPUUtilizationPercentage": 70,
            },
        },
        "worker": {
            "replicas": cfg.worker_replicas,
            "resources": kb.resources(cfg.worker_resources),
        },
        # The web UI through the same Gateway host, as many replicas as the API (its size:
        # the chart's default, a static file server's).
        "web": {
            "enabled": True,
            "image": {
                "repository": web_image.repository,
                "tag": web_image.tag,
                "pullPolicy": "IfNotPresent",
            },
            "replicas": cfg.api_replicas,
        },
        "httpRoute": {
            "enabled": True,
            "hostnames": [args.platform.domain],
            "parentRefs": [
                {"name": edge.GATEWAY, "namespace": edge.NAMESPACE, "sectionName": "https"}
            ],
            "envoyBodyLimit": True,
        },
        "networkPolicy": {
            "enabled": True,
            "ingressNamespaces": [edge.NAMESPACE],
            "monitoringNamespace": args.monitoring_namespace,
            "egress": [
                _egress(e, args.external_network)
                for e in (args.postgres, args.redis, args.rabbitmq)
            ],
        },
        "metrics": {
            "serviceMonitor": {"enabled": True, "interval": "30s"},
            "ruleFiles": observability.rule_files(),
            "dashboards": observability.dashboards(),
            "dashboardsNamespace": args.monitoring_namespace,
        },
    }
    return values


def _egress(endpoint: Endpoint, external_network: str | None) -> dict[str, Any]:
    if endpoint.namespace:
        where = {"namespace": endpoint.namespace}
    else:
        where = {"cidr": external_network or "0.0.0.0/0"}
    return {"name": endpoint.name, **where, "ports": [endpoint.port]}
